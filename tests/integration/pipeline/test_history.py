"""Mail imported as history (`mailtickets import` without --notify) through the pipeline:
what it changes is dated when it was written, nothing it causes is mailed, and it never
disturbs a ticket that has moved on since."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from mailtickets.db.models import Agent, Ticket, TicketStatus
from mailtickets.mail.tokens import reply_token
from mailtickets.services import autoclose, tickets
from mailtickets.services.sla.sweep import sweep
from tests.support.helpdesk import CONFIG, Helpdesk, make_helpdesk
from tests.support.mail import compose

#: Long before the helpdesk's clock (2026-11-02).
WRITTEN = datetime(2024, 5, 6, 10, 0, tzinfo=UTC)


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Helpdesk]:
    """A helpdesk whose Support queue has an SLA and asks for ratings."""
    config = CONFIG.replace('name = "Support"\n', 'name = "Support"\nsla = "std"\ncsat = true\n')
    extra = '[[sla]]\nname = "std"\nfirst_response = "1h"\nresolution = "1d"\n'
    helpdesk = make_helpdesk(f"sqlite:///{tmp_path / 'mt.db'}", tmp_path, extra, config)
    yield helpdesk
    helpdesk.app.engine.dispose()


def _alice_address(desk: Helpdesk, ticket_id: int, now: datetime) -> str:
    """Alice's signed reply address for the ticket, as her notice of the time carried it."""
    with desk.app.sessions() as session:
        alice = session.scalar(select(Agent.id).where(Agent.address == "alice@acme.example"))
    assert alice is not None
    token = reply_token(desk.app.secret, ticket_id, alice, now + timedelta(days=90))
    return f"support+{token}@acme.example"


def _alice_says(desk: Helpdesk, ticket_id: int, body: str, when: datetime) -> str | None:
    address = _alice_address(desk, ticket_id, when)
    mail = compose(sender="Alice <alice@acme.example>", to=address, body=body, date=when)
    return desk.deliver(mail, rcpt=(address,), history=True).outcome


def test_an_imported_conversation_keeps_its_dates_and_mails_nobody(desk: Helpdesk) -> None:
    opened = desk.deliver(compose(subject="Old order", date=WRITTEN), history=True)
    assert opened.outcome == "new_ticket" and opened.ticket_id is not None
    ticket_id = opened.ticket_id
    answered = WRITTEN + timedelta(hours=3)
    assert _alice_says(desk, ticket_id, "Shipped today.", answered) == "agent_reply"
    assert _alice_says(desk, ticket_id, "#note\nCalled her.", answered) == "note"
    assert _alice_says(desk, ticket_id, "#bogus", answered) == "command_error"
    rated = WRITTEN + timedelta(days=1)
    assert _alice_says(desk, ticket_id, "#resolve", rated) == "commands"

    assert desk.outbox() == []
    shown = desk.ticket(ticket_id)
    assert shown["status"] == "resolved"
    assert (shown["created_at"], shown["updated_at"]) == (WRITTEN.isoformat(), rated.isoformat())
    assert {e.at for e in desk.events(ticket_id)} == {WRITTEN, answered, rated}
    with desk.app.sessions() as session:
        ticket = session.get_one(Ticket, ticket_id)
        assert ticket.imported_at == desk.clock.now()
        assert (ticket.first_response_at, ticket.resolved_at) == (answered, rated)
        assert ticket.sla_check_at is None and ticket.resolution_due is None
    assert sweep(desk.app.sessions, desk.app.sla, desk.clock.now()) == 0


def test_history_older_than_a_tickets_last_change_does_not_reopen_it(desk: Helpdesk) -> None:
    live = desk.deliver(compose(message_id="live@client.example"))
    assert live.ticket_id is not None
    with desk.app.sessions.begin() as session:
        ticket = session.get_one(Ticket, live.ticket_id)
        tickets.set_status(
            session, ticket, TicketStatus.RESOLVED, desk.clock.now(), None, sla=desk.app.sla
        )
    queued = len(desk.outbox())
    older = compose(in_reply_to="live@client.example", body="An old note.", date=WRITTEN)
    assert desk.deliver(older, history=True).outcome == "follow_up"
    shown = desk.ticket(live.ticket_id)
    assert shown["status"] == "resolved"
    assert shown["updated_at"] == desk.clock.now().isoformat()
    incoming = [m["new_text"] for m in shown["messages"] if m["direction"] == "in"]
    assert len(incoming) == 2 and "An old note." in incoming[0], "in date order"
    assert len(desk.outbox()) == queued


def test_an_imported_ticket_left_waiting_is_closed_without_a_word(desk: Helpdesk) -> None:
    opened = desk.deliver(compose(subject="Waiting", date=WRITTEN), history=True)
    assert opened.ticket_id is not None
    assert _alice_says(desk, opened.ticket_id, "Which model?", WRITTEN) == "agent_reply"
    assert desk.ticket(opened.ticket_id)["status"] == "pending"
    closed = autoclose.auto_close(
        desk.app.sessions, desk.app.sla, timedelta(days=7), desk.clock.now()
    )
    assert closed == 0, "nobody is told"
    assert desk.ticket(opened.ticket_id)["status"] == "closed"
    assert desk.outbox() == []
