"""A flood of customer mail: every message is a ticket, but agents get one notice of the flood
and one summary instead of a notice each; other customers' notices go out as usual."""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import cast

import pytest

from mailtickets.services import floods
from mailtickets.services.privacy.erase import erase
from tests.support.helpdesk import Helpdesk, make_helpdesk
from tests.support.mail import compose

THRESHOLD = 3
DASH = "\N{EN DASH}"
ALICE = "alice@acme.example"


@pytest.fixture
def desk(database_url: str, tmp_path: Path) -> Iterator[Helpdesk]:
    """A helpdesk on SQLite and on PostgreSQL whose agents hear of floods past 3 messages."""
    desk = make_helpdesk(
        database_url, tmp_path, f"[notifications]\nflood_threshold = {THRESHOLD}\n"
    )
    yield desk
    desk.app.engine.dispose()


def _write(desk: Helpdesk, sender: str, subject: str) -> int:
    """`sender` writes a new ticket a minute after the last mail; its number."""
    desk.clock.advance(timedelta(minutes=1))
    result = desk.deliver(compose(sender=sender, subject=subject))
    assert result.ticket_id is not None, result
    return result.ticket_id


def _summarise(desk: Helpdesk) -> int:
    app = desk.app
    return floods.summarise(app.sessions, app.sla, THRESHOLD, desk.clock.now())


def _agent_mail(desk: Helpdesk, agent: str = ALICE) -> list[EmailMessage]:
    """What `agent` received since the last call (the helpdesk's maildir transport)."""
    desk.send_all()
    box = mailbox.Maildir(desk.app.settings.outgoing.maildir, create=False)
    mails = [
        cast(EmailMessage, message_from_bytes(box.get_bytes(key), policy=default))
        for key in box.iterkeys()
    ]
    box.clear()
    return [m for m in mails if agent in str(m["To"])]


def _subjects(mails: list[EmailMessage]) -> list[str]:
    """Their subjects, sorted: mail sent in one go has no order to see."""
    return sorted(str(m["Subject"]) for m in mails)


def test_a_flood_from_one_sender_is_one_notice_and_one_summary(desk: Helpdesk) -> None:
    flood = [_write(desk, "robot@flood.example", f"Flood {n}") for n in range(1, 9)]
    # Another customer writes in the middle of it and is announced as usual.
    other = _write(desk, "ana@example.com", "Printer on fire")

    told = _agent_mail(desk)
    assert _subjects(told) == [
        "[ACME #1] New ticket: Flood 1",
        "[ACME #2] New ticket: Flood 2",
        "[ACME #3] New ticket: Flood 3",
        "[ACME #4] Flood from robot@flood.example: notices held",
        f"[ACME #{other}] New ticket: Printer on fire",
    ]
    [began] = [m for m in told if "Flood from" in str(m["Subject"])]
    text = began.get_body(("plain",))
    assert text is not None
    assert "robot@flood.example sent more than 3 messages within an hour" in text.get_content()
    # Every message is a ticket; each one not announced says why on the ticket.
    for ticket_id in flood:
        assert desk.ticket(ticket_id)["subject"] == f"Flood {ticket_id}"
    withheld = [t for t in flood if desk.events(t, "notice_withheld")]
    assert withheld == flood[THRESHOLD:]
    assert desk.events(flood[-1], "notice_withheld")[0].data == {
        "flood": "robot@flood.example",
        "messages": 8,
    }

    # While it goes on, no summary; once it has been quiet for ten minutes, one.
    assert _summarise(desk) == 0
    desk.clock.advance(floods.QUIET)
    assert _summarise(desk) == 1
    assert _summarise(desk) == 0
    [summary] = _agent_mail(desk)
    body = summary.get_body(("plain",))
    assert body is not None
    assert (
        str(summary["Subject"]) == f"Flood from robot@flood.example, 5 messages, tickets #4{DASH}#8"
    )
    assert f"tickets #4{DASH}#8" in body.get_content()


def test_a_flood_that_never_pauses_is_summarised_within_the_hour(desk: Helpdesk) -> None:
    for n in range(1, 6):
        _write(desk, "robot@flood.example", f"Flood {n}")
    _agent_mail(desk)
    summaries = []
    for n in range(6, 66):  # one message a minute, past the hour
        _write(desk, "robot@flood.example", f"Flood {n}")
        summaries.append(_summarise(desk))
    assert sum(summaries) == 1
    subjects = _subjects(_agent_mail(desk))
    # The first withheld message (#4) is an hour old when #64 comes in.
    assert subjects == [f"Flood from robot@flood.example, 61 messages, tickets #4{DASH}#64"]


def test_new_addresses_at_one_domain_count_together(desk: Helpdesk) -> None:
    # A customer known for long at the same domain is not one of them.
    _write(desk, "old@rotating.example", "Known customer")
    desk.clock.advance(timedelta(hours=2))
    _agent_mail(desk)

    tickets = [_write(desk, f"r{n}@rotating.example", f"Rotating {n}") for n in range(1, 6)]
    known = _write(desk, "old@rotating.example", "Known again")

    assert _subjects(_agent_mail(desk)) == [
        f"[ACME #{tickets[0]}] New ticket: Rotating 1",
        f"[ACME #{tickets[1]}] New ticket: Rotating 2",
        f"[ACME #{tickets[2]}] New ticket: Rotating 3",
        f"[ACME #{tickets[3]}] Flood from new addresses at rotating.example: notices held",
        f"[ACME #{known}] New ticket: Known again",
    ]
    desk.clock.advance(floods.QUIET)
    assert _summarise(desk) == 1
    assert _subjects(_agent_mail(desk)) == [
        f"Flood from new addresses at rotating.example, 2 messages, "
        f"tickets #{tickets[3]}{DASH}#{tickets[4]}"
    ]


def test_an_erased_flooder_is_named_in_no_summary(desk: Helpdesk) -> None:
    flood = [_write(desk, "robot@flood.example", f"Flood {n}") for n in range(1, 6)]
    with desk.app.sessions.begin() as session:
        erase(session, "robot@flood.example", desk.clock.now(), desk.app.settings.outgoing.maildir)
    desk.clock.advance(floods.QUIET)
    assert _summarise(desk) == 0
    assert [desk.ticket(t)["id"] for t in flood] == flood
