"""A real Postfix bounces our mail, and the bounce it writes comes back to its ticket.

The outbox sender relays through a private Postfix (tests/support/postfix.py). Postfix
accepts the acknowledgement, and the customer's mail server (a test SMTP server) refuses the
address after the fact, so Postfix itself writes the bounce, to support@acme.example: an SMTP
catcher, from which it is fed to the helpdesk as the MTA in front of it would. Once without
SMTPUTF8 (an RFC 3464 report) and once with it, to a UTF-8 address (RFC 6533
`message/global-delivery-status`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from mailtickets.db.models import Contact
from tests.support.helpdesk import Helpdesk, make_helpdesk
from tests.support.postfix import Postfix, running_postfix
from tests.support.relay import Relay


@pytest.fixture
def catcher() -> Iterator[Relay]:
    """Where Postfix returns its bounces: our queue's domain."""
    relay = Relay().up()
    yield relay
    relay.down()


@pytest.fixture
def customers_mx() -> Iterator[Relay]:
    """The customers' mail server: it knows nobody."""
    relay = Relay()
    relay.handler.rcpt_answer = "550 5.1.1 no such user here"
    relay.up()
    yield relay
    relay.down()


def _through(postfix: Postfix, tmp_path: Path) -> Helpdesk:
    extra = (
        f'[outgoing]\nhost = "127.0.0.1"\nport = {postfix.port}\ntls = "none"\n'
        'retry_delay = "10s"\ngive_up_after = "1h"\ntimeout = "10s"\n'
    )
    return make_helpdesk(f"sqlite:///{tmp_path / 'mailtickets.db'}", tmp_path, extra)


def _bounce_for(
    desk: Helpdesk, postfix: Postfix, catcher: Relay, customer: str
) -> tuple[int, bytes]:
    """Open a ticket for `customer`, send its mail through Postfix, and return the ticket and
    the bounce Postfix wrote for the acknowledgement."""
    request = (
        f"From: {customer}\nTo: support@acme.example\nSubject: Printer on fire\n"
        "Message-ID: <request-1@client.example>\nContent-Type: text/plain; charset=utf-8\n\n"
        "Hello, the printer is on fire.\n"
    ).encode()
    ticket_id = desk.deliver(request, mail_from=customer).ticket_id
    assert ticket_id is not None
    desk.send_all()
    postfix.wait_for_log(r"to=<support@acme\.example>.*status=sent")
    bounces = [r for r in catcher.received if r.envelope_from in ("", "<>")]
    assert len(bounces) == 1, [r.envelope_from for r in catcher.received]
    return ticket_id, bounces[0].raw


def _suppressed(desk: Helpdesk, address: str) -> str | None:
    with desk.app.sessions() as session:
        contact = session.scalar(select(Contact).where(Contact.address == address))
        assert contact is not None
        return contact.suppressed_reason


@pytest.mark.parametrize(
    ("smtputf8", "customer", "report", "form"),
    [
        ("no", "ana@bounce.example", b"message/delivery-status", "RFC 3464 delivery-status"),
        (
            "yes",
            "joão@bounce.example",
            b"message/global-delivery-status",
            "RFC 6533 global-delivery-status",
        ),
    ],
)
def test_postfix_bounces_come_back_to_their_ticket(
    catcher: Relay,
    customers_mx: Relay,
    tmp_path: Path,
    smtputf8: str,
    customer: str,
    report: bytes,
    form: str,
) -> None:
    with running_postfix(
        transports={
            "acme.example": f"smtp:[127.0.0.1]:{catcher.port}",
            "bounce.example": f"smtp:[127.0.0.1]:{customers_mx.port}",
        },
        parameters={"smtputf8_enable": smtputf8},
    ) as postfix:
        desk = _through(postfix, tmp_path)
        try:
            ticket_id, bounce = _bounce_for(desk, postfix, catcher, customer)
            assert report in bounce  # Postfix wrote this form, not a stand-in
            result = desk.deliver(bounce, mail_from="", rcpt=("support@acme.example",))
            assert (result.outcome, result.ticket_id) == ("bounce", ticket_id)
            (failed,) = desk.events(ticket_id, "delivery_failed")
            assert failed.data["format"] == form
            assert [f["recipient"] for f in failed.data["failures"]] == [customer]
            assert failed.data["failures"][0]["action"] == "failed"
            assert "hard bounce" in (_suppressed(desk, customer) or "")
            # The agents are told; nothing answers the mail system or writes to the customer.
            pending = [o for o in desk.outbox(ticket_id) if o.status == "pending"]
            assert [(o.template, o.recipients) for o in pending] == [
                ("agent/delivery_failed", ["alice@acme.example"])
            ]
        finally:
            desk.app.engine.dispose()
