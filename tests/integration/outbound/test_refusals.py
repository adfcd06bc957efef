"""A relay's 5xx answers through a real relay: the recipient's fault suppresses, the relay's
holds the mail and suppresses nobody, whatever code it chose."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from mailtickets.db.models import Contact, OutboundMessage, OutboundStatus
from mailtickets.outbound.sender import Attempt, OutboxSender
from mailtickets.services import outgoing
from tests.support.helpdesk import Helpdesk, make_helpdesk
from tests.support.mail import compose
from tests.support.relay import Relay

# Postfix's own words (smtpd), with the recipient put in as it does.
RELAY_DENIED = "554 5.7.1 <{address}>: Relay access denied"
UNKNOWN_LOCAL = (
    "550 5.1.1 <{address}>: Recipient address rejected: User unknown in local recipient table"
)


class Outbox:
    """One sender for the whole test, as in the daemon: it remembers what the relay said."""

    def __init__(self, desk: Helpdesk) -> None:
        self.desk = desk
        self.attempts: list[Attempt] = []
        self.sender: OutboxSender = desk.sender(self.attempts.append)

    def drain(self) -> None:
        while self.sender.work_once():
            pass

    def rows(self) -> dict[int, OutboundMessage]:
        return {row.id: row for row in self.desk.outbox()}

    def suppressed(self) -> dict[str, str]:
        with self.desk.app.sessions() as session:
            found = session.scalars(select(Contact).where(Contact.suppressed_at.is_not(None)))
            return {c.address: c.suppressed_reason or "" for c in found}


@pytest.fixture
def outbox(relayed: Helpdesk) -> Iterator[Outbox]:
    box = Outbox(relayed)
    yield box
    box.sender.close()


def test_relay_access_denied_holds_everything_and_suppresses_nobody(
    outbox: Outbox, relay: Relay, caplog: pytest.LogCaptureFixture
) -> None:
    relay.handler.rcpt_answer = RELAY_DENIED
    desk = outbox.desk
    first = desk.deliver(compose(sender="ana@example.com")).ticket_id
    second = desk.deliver(compose(sender="bia@example.com")).ticket_id
    assert first is not None and second is not None
    with caplog.at_level(logging.INFO, "mailtickets.outbound"):
        outbox.drain()
        desk.clock.advance(timedelta(minutes=1))
        outbox.drain()  # every message tried again, and refused again

    rows = outbox.rows()
    assert len(rows) == 4  # two acknowledgements, two notices to Alice
    assert {row.status for row in rows.values()} == {OutboundStatus.PENDING}
    for row in rows.values():
        assert row.last_error == f"held: {row.recipients[0]}: " + RELAY_DENIED.format(
            address=row.recipients[0]
        )
        assert row.attempts == 2
    assert outbox.suppressed() == {}
    assert desk.events(first, "delivery_failed") == desk.events(second, "delivery_failed") == []
    assert [a.held for a in outbox.attempts] == [
        RELAY_DENIED.format(address=row.recipients[0]) for row in rows.values()
    ] * 2
    trouble = outbox.sender.trouble() or ""  # what /healthz shows as the sender's detail
    assert "refuses mail for reasons of its own (554 5.7.1 <" in trouble
    assert "mailtickets outbox retry --all" in trouble
    # One line for the outage, not one per message or attempt.
    refusing = [r for r in caplog.records if "refuses mail" in r.getMessage()]
    assert [r.levelname for r in refusing] == ["ERROR"]

    # The relay is fixed; the operator resumes at once rather than wait out the backoff.
    relay.handler.rcpt_answer = None
    caplog.clear()
    with desk.app.sessions.begin() as session:
        retried = outgoing.retry(session, None, desk.clock.now())
    assert (retried.failed, retried.waiting, retried.unsuppressed) == (0, 4, [])
    with caplog.at_level(logging.INFO, "mailtickets.outbound"):
        outbox.drain()
    assert {row.status for row in outbox.rows().values()} == {OutboundStatus.SENT}
    assert sorted(r.recipients[0] for r in relay.received) == sorted(
        ["ana@example.com", "bia@example.com", "alice@acme.example", "alice@acme.example"]
    )
    assert outbox.sender.trouble() is None
    assert [r.getMessage() for r in caplog.records if "held mail" in r.getMessage()] == [
        f"relay 127.0.0.1:{relay.port} takes held mail again; the outbox resumes"
    ]


def test_one_answer_to_every_recipient_of_a_message_is_the_relays(
    outbox: Outbox, relay: Relay
) -> None:
    desk = outbox.desk
    desk.deliver(compose(cc="bia@example.com"))
    outbox.drain()
    (notice,) = [r for r in desk.outbox() if r.template == "agent/new_ticket"]
    address = notice.context["reply_to"]
    answer = compose(sender="alice@acme.example", to=address, body="We are on it.")
    assert desk.deliver(answer, rcpt=(address,)).outcome == "agent_reply"
    # Meanwhile the relay took the customers' domain for its own: "user unknown" for all.
    relay.handler.rcpt_answer = UNKNOWN_LOCAL
    outbox.drain()
    (reply,) = [r for r in desk.outbox() if r.template == "customer/agent_reply"]
    assert reply.status is OutboundStatus.PENDING
    assert sorted(reply.recipients) == ["ana@example.com", "bia@example.com"]
    assert (reply.last_error or "").startswith("held: ana@example.com: 550 5.1.1 <ana@")
    assert outbox.suppressed() == {}


def test_the_same_answer_in_a_later_message_lifts_the_first_suppression(
    outbox: Outbox, relay: Relay, caplog: pytest.LogCaptureFixture
) -> None:
    desk = outbox.desk
    relay.handler.rcpt_answers = {"ana@example.com": UNKNOWN_LOCAL}
    ana = desk.deliver(compose(sender="ana@example.com")).ticket_id
    outbox.drain()
    # Alone, it cannot be told from a real unknown user.
    assert list(outbox.suppressed()) == ["ana@example.com"]
    (ana_ack,) = [r for r in desk.outbox(ana) if r.template.startswith("customer/")]
    assert ana_ack.status is OutboundStatus.FAILED

    relay.handler.rcpt_answers["bia@example.com"] = UNKNOWN_LOCAL
    bia = desk.deliver(compose(sender="bia@example.com")).ticket_id
    with caplog.at_level(logging.WARNING, "mailtickets.outbound"):
        outbox.drain()
    assert outbox.suppressed() == {}
    (bia_ack,) = [r for r in desk.outbox(bia) if r.template.startswith("customer/")]
    assert bia_ack.status is OutboundStatus.PENDING
    assert (bia_ack.last_error or "").startswith("held: bia@example.com: 550 5.1.1")
    assert "ana@example.com no longer suppressed: the relay gave others the same answer" in [
        r.getMessage() for r in caplog.records
    ]

    # Fixed: `outbox retry --all` sends the one that failed and the one held.
    relay.handler.rcpt_answers = {}
    with desk.app.sessions.begin() as session:
        retried = outgoing.retry(session, None, desk.clock.now())
    assert (retried.failed, retried.waiting) == (1, 1)
    outbox.drain()
    assert {r.recipients[0] for r in relay.received} >= {"ana@example.com", "bia@example.com"}


def test_a_lone_unexplained_refusal_fails_the_message_but_suppresses_nobody(
    outbox: Outbox, relay: Relay
) -> None:
    relay.handler.rcpt_answers = {
        "ana@example.com": "550 Requested action not taken: mailbox unavailable"
    }
    ticket_id = outbox.desk.deliver(compose()).ticket_id
    assert ticket_id is not None
    outbox.drain()
    rows = outbox.desk.outbox(ticket_id)
    (ack,) = [r for r in rows if r.template == "customer/acknowledgement"]
    assert ack.status is OutboundStatus.FAILED
    assert ack.last_error == "ana@example.com: 550 Requested action not taken: mailbox unavailable"
    assert [e.data["reason"] for e in outbox.desk.events(ticket_id, "delivery_failed")] == [
        ack.last_error
    ]
    assert [r.template for r in rows].count("agent/delivery_failed") == 1
    assert outbox.suppressed() == {}


def test_a_relay_that_wants_a_login_holds_the_mail(outbox: Outbox, relay: Relay) -> None:
    relay.down()
    relay.up(password="s3cret")  # and our config has no username
    outbox.desk.deliver(compose())
    outbox.drain()
    rows = outbox.rows().values()
    assert {r.status for r in rows} == {OutboundStatus.PENDING}
    assert {r.last_error for r in rows} == {
        f"held: relay 127.0.0.1:{relay.port}: 530 5.7.0 Authentication required"
    }
    assert outbox.suppressed() == {}
    assert relay.received == []


def test_a_refused_login_holds_the_mail(relay: Relay, tmp_path: Path) -> None:
    relay.down()
    relay.up(password="s3cret")
    extra = (
        f'[outgoing]\nhost = "127.0.0.1"\nport = {relay.port}\ntls = "none"\n'
        'username = "mailtickets"\npassword_env = "SECRET"\n'  # "k", not the relay's
    )
    desk = make_helpdesk(f"sqlite:///{tmp_path / 'mt.db'}", tmp_path, extra)
    outbox = Outbox(desk)
    try:
        desk.deliver(compose())
        outbox.drain()
        rows = outbox.rows().values()
        assert {r.last_error for r in rows} == {
            f"held: relay 127.0.0.1:{relay.port}: 535 5.7.8 Authentication credentials invalid"
        }
        assert {r.status for r in rows} == {OutboundStatus.PENDING}
        assert [a.held is not None for a in outbox.attempts] == [True, True]
    finally:
        outbox.sender.close()
        desk.app.engine.dispose()
