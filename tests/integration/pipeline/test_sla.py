"""SLAs on the injected clock: warnings then breaches, each exactly once, pauses, priorities,
restarts, and auto-close."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from mailtickets.db.models import Ticket, TicketStatus
from mailtickets.outbox.context import ticket_context, ticket_contexts
from mailtickets.services import autoclose, digest
from mailtickets.services.sla import report, sweep
from tests.support.cli import SECRET, mailtickets
from tests.support.helpdesk import CONFIG, Helpdesk, make_helpdesk
from tests.support.mail import compose

SLA_CONFIG = CONFIG.replace('name = "Support"\n', 'name = "Support"\nsla = "std"\n')
EXTRA = """
[[agent]]
address = "carla@acme.example"
name = "Carla"
role = "manager"
[[sla]]
name = "std"
first_response = "1h"
next_response = "2h"
resolution = "1d"
warn_at = 0.5
[sla.priority.urgent]
first_response = "10m"
[scheduler]
auto_close_after = "7d"
"""


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Helpdesk]:
    helpdesk = make_helpdesk(f"sqlite:///{tmp_path / 'sla.db'}", tmp_path, EXTRA, SLA_CONFIG)
    yield helpdesk
    helpdesk.app.engine.dispose()


def _sweep(desk: Helpdesk) -> int:
    return sweep.sweep(desk.app.sessions, desk.app.sla, desk.clock.now())


def _templates(desk: Helpdesk, ticket_id: int) -> list[tuple[str, list[str]]]:
    return [(o.template, o.recipients) for o in desk.outbox(ticket_id) if "sla" in o.template]


def _ticket(desk: Helpdesk, ticket_id: int) -> Ticket:
    with desk.app.sessions() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        return ticket


def test_warning_then_breach_each_once_even_across_a_restart(desk: Helpdesk) -> None:
    start = desk.clock.now()
    ticket_id = desk.deliver(compose()).ticket_id
    assert ticket_id is not None
    assert _ticket(desk, ticket_id).first_response_due == start + timedelta(hours=1)
    desk.clock.advance(timedelta(minutes=29))
    assert _sweep(desk) == 0
    desk.clock.advance(timedelta(minutes=2))
    assert _sweep(desk) == 1
    assert _sweep(desk) == 0
    warnings = _templates(desk, ticket_id)
    assert sorted(warnings) == [
        ("agent/sla_warning", ["alice@acme.example"]),
        ("agent/sla_warning", ["carla@acme.example"]),
    ]
    # A daemon restarted between warning and breach builds everything anew: the warning is
    # not sent again, the breach is sent once.
    restarted = make_helpdesk(
        desk.app.settings.database.url, Path(desk.app.settings.storage.dir), EXTRA, SLA_CONFIG
    )
    restarted.clock.advance(desk.clock.now() - restarted.clock.now())
    assert _sweep(restarted) == 0
    restarted.clock.advance(timedelta(minutes=30))
    assert _sweep(restarted) == 1
    assert _sweep(restarted) == 0
    restarted.app.engine.dispose()
    breaches = [t for t in _templates(desk, ticket_id) if t[0] == "agent/sla_breached"]
    assert breaches == [("agent/sla_breached", ["carla@acme.example"])]  # the manager
    assert [e.data["clock"] for e in desk.events(ticket_id, "sla_breached")] == ["first_response"]


def test_one_sweep_tells_each_due_ticket_of_its_own_clocks(desk: Helpdesk) -> None:
    # The sweep reads the histories of its whole batch together: each ticket keeps its own.
    late = desk.deliver(compose(subject="Late")).ticket_id
    waiting = desk.deliver(compose(sender="bo@example.net", subject="Waiting")).ticket_id
    assert late is not None and waiting is not None
    assert desk.agent_says(waiting, "#status pending").outcome == "commands"
    desk.clock.advance(timedelta(days=1, hours=1))
    assert _sweep(desk) == 2  # the first response and the resolution, both breached
    assert _sweep(desk) == 0
    breached = sorted(e.data["clock"] for e in desk.events(late, "sla_breached"))
    assert breached == ["first_response", "resolution"]
    assert [t for t, _ in _templates(desk, late)] == ["agent/sla_breached"] * 2
    assert desk.events(waiting, "sla_breached") == []
    assert _templates(desk, waiting) == []


def test_an_answer_in_time_stops_the_first_clock_and_a_customer_reply_starts_the_next(
    desk: Helpdesk,
) -> None:
    ticket_id = desk.deliver(compose()).ticket_id
    assert ticket_id is not None
    (notice,) = [o for o in desk.outbox(ticket_id) if o.recipients == ["alice@acme.example"]]
    desk.clock.advance(timedelta(minutes=20))
    address = notice.context["reply_to"]
    desk.deliver(compose(sender="alice@acme.example", to=address, body="Hi"), rcpt=(address,))
    assert _ticket(desk, ticket_id).first_response_due is None
    assert _ticket(desk, ticket_id).next_response_due is None
    desk.clock.advance(timedelta(minutes=10))
    replied = desk.clock.now()
    desk.deliver(compose(subject=f"Re: [ACME #{ticket_id}] x", body="Still broken"))
    assert _ticket(desk, ticket_id).next_response_due == replied + timedelta(hours=2)
    desk.clock.advance(timedelta(hours=3))
    assert _sweep(desk) == 1  # next response breached (its warning settled silently)
    assert [e.data["clock"] for e in desk.events(ticket_id, "sla_breached")] == ["next_response"]


def test_time_stops_while_pending_and_resumes_on_the_customers_reply(desk: Helpdesk) -> None:
    start = desk.clock.now()
    ticket_id = desk.deliver(compose()).ticket_id
    assert ticket_id is not None
    # Alice needs something from the customer first: the ticket waits on the customer.
    assert desk.agent_says(ticket_id, "#status pending").outcome == "commands"
    desk.clock.advance(timedelta(hours=5))
    assert _sweep(desk) == 0
    desk.deliver(compose(subject=f"Re: [ACME #{ticket_id}] x", body="Back"))
    ticket = _ticket(desk, ticket_id)
    assert ticket.status is TicketStatus.OPEN
    assert ticket.first_response_due == start + timedelta(hours=6)
    assert ticket.resolution_due == start + timedelta(days=1, hours=5)


def test_an_agent_setting_a_ticket_pending_by_mail_stops_its_clocks_at_once(
    desk: Helpdesk,
) -> None:
    ticket_id = desk.deliver(compose()).ticket_id
    assert ticket_id is not None
    assert desk.agent_says(ticket_id, "#status pending").outcome == "commands"
    ticket = _ticket(desk, ticket_id)
    assert ticket.status is TicketStatus.PENDING
    # Nothing is due while we wait, and the sweep has nothing to look at.
    assert (ticket.first_response_due, ticket.resolution_due, ticket.sla_check_at) == (
        None,
        None,
        None,
    )


def _cli(desk: Helpdesk, *args: str) -> Any:
    """What `mailtickets ARGS --json` shows an operator about this helpdesk."""
    site = Path(desk.app.settings.storage.dir)
    config = site / "site.toml"
    if not config.exists():
        url = desk.app.settings.database.url
        config.write_text(SLA_CONFIG.format(url=url, directory=site) + EXTRA)
    done = mailtickets("--config", str(config), *args, "--json", cwd=site, env={"SECRET": SECRET})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _due_shown(desk: Helpdesk, ticket_id: int) -> dict[str, datetime]:
    shown = _cli(desk, "sla", "show", str(ticket_id))
    return {clock["kind"]: datetime.fromisoformat(clock["due"]) for clock in shown["clocks"]}


def test_an_agents_priority_change_moves_the_due_times_everyone_sees(desk: Helpdesk) -> None:
    # The command line reads the wall clock; the helpdesk's starts there too, so that "due
    # within 30 minutes" means the same moment to both.
    desk.clock.advance(datetime.now(UTC).replace(microsecond=0) - desk.clock.now())
    start = desk.clock.now()
    ticket_id = desk.deliver(compose()).ticket_id
    assert ticket_id is not None
    assert _due_shown(desk, ticket_id) == {
        "first response": start + timedelta(hours=1),
        "resolution": start + timedelta(days=1),
    }
    assert _cli(desk, "tickets", "list", "--due-within", "30m") == []

    desk.clock.advance(timedelta(minutes=2))
    assert desk.agent_says(ticket_id, "#priority urgent").outcome == "commands"
    assert _cli(desk, "tickets", "show", str(ticket_id))["priority"] == "urgent"
    # Urgent replaces only the first-response budget; the clock still runs from the mail.
    assert _due_shown(desk, ticket_id) == {
        "first response": start + timedelta(minutes=10),
        "resolution": start + timedelta(days=1),
    }
    # The stored due times moved too: the ticket now shows up as due within half an hour.
    assert [t["id"] for t in _cli(desk, "tickets", "list", "--due-within", "30m")] == [ticket_id]


def test_silent_resolved_tickets_are_closed_and_the_customer_told_once(desk: Helpdesk) -> None:
    ticket_id = desk.deliver(compose()).ticket_id
    assert ticket_id is not None
    assert desk.agent_says(ticket_id, "#resolve").outcome == "commands"
    after = desk.app.settings.scheduler.auto_close_after
    assert after == timedelta(days=7)
    desk.clock.advance(timedelta(days=6))
    assert autoclose.auto_close(desk.app.sessions, desk.app.sla, after, desk.clock.now()) == 0
    desk.clock.advance(timedelta(days=2))
    assert autoclose.auto_close(desk.app.sessions, desk.app.sla, after, desk.clock.now()) == 1
    assert autoclose.auto_close(desk.app.sessions, desk.app.sla, after, desk.clock.now()) == 0
    assert desk.ticket(ticket_id)["status"] == "closed"
    closing = [o for o in desk.outbox(ticket_id) if o.template == "customer/auto_closed"]
    assert [o.recipients for o in closing] == [["ana@example.com"]]
    assert closing[0].context["auto_close_after"] == "7d"


def test_the_report_on_a_known_history_gives_known_numbers(desk: Helpdesk) -> None:
    start = desk.clock.now()
    ids = [desk.deliver(compose(sender=f"c{n}@example.com")).ticket_id for n in range(3)]
    assert None not in ids

    def at(after: timedelta, ticket_id: int | None, body: str) -> None:
        desk.clock.advance(start + after - desk.clock.now())
        assert ticket_id is not None
        expected = "commands" if body.startswith("#") else "agent_reply"
        assert desk.agent_says(ticket_id, body).outcome == expected

    # Answered after 10 and 30 minutes and 2 hours; resolved after 1 and 3 hours.
    at(timedelta(minutes=10), ids[0], "Unplug it, please.")
    at(timedelta(minutes=30), ids[1], "Which model is it?")
    at(timedelta(hours=1), ids[0], "#resolve")
    desk.clock.advance(timedelta(minutes=1))
    assert _sweep(desk) == 1  # the third waited past its hour
    at(timedelta(hours=2), ids[2], "Sorry for the wait: on it.")
    at(timedelta(hours=3), ids[1], "#resolve")
    with desk.app.sessions() as session:
        (row,) = report.report(
            session, desk.app.sla, start - timedelta(days=1), start + timedelta(hours=4)
        )
    assert row == {
        "queue": "support@acme.example",
        "priority": "normal",
        "tickets": 3,
        "first_response_hours": {"median": 0.5, "p90": 2.0},
        "resolution_hours": {"median": 1.0, "p90": 3.0},
        "within_sla_percent": 66.7,
        "breaches": 1,
    }


def test_the_daily_digest_tells_managers_where_the_queues_stand(desk: Helpdesk) -> None:
    first = desk.deliver(compose(sender="a@example.com")).ticket_id
    desk.deliver(compose(sender="b@example.com"))
    assert first is not None
    assert desk.agent_says(first, "#status pending").outcome == "commands"
    desk.clock.advance(timedelta(hours=2))
    # The scheduler's minute sweep has run by now: the open ticket breached.
    assert _sweep(desk) == 1
    assert digest.digest(desk.app.sessions, desk.app.sla, desk.clock.now()) == 1
    (row,) = [o for o in desk.outbox() if o.template == "agent/daily_digest"]
    assert row.recipients == ["carla@acme.example"]
    support = row.context["digest"]["queues"][0]
    # The pending ticket's clocks are stopped: only the open one is due, and past due.
    assert (support["open"], support["pending"], support["due_today"], support["breached"]) == (
        1,
        1,
        1,
        1,
    )
    assert desk.send_all() >= 1
    digest_mail = next(
        f
        for f in (desk.app.settings.outgoing.maildir / "new").iterdir()
        if b"Daily digest" in f.read_bytes()
    )
    assert b"past an SLA due time:     1" in digest_mail.read_bytes()


def test_a_manager_new_to_a_ticket_gets_its_conversation_with_the_first_notice_only(
    desk: Helpdesk,
) -> None:
    # Dora joins after the ticket was opened; one sweep tells her of two breaches on it. The
    # sweep reads who has seen what once for its batch: its first notice must count.
    ticket_id = desk.deliver(compose(body="The printer is on fire.")).ticket_id
    assert ticket_id is not None
    dora = '[[agent]]\naddress = "dora@acme.example"\nname = "Dora"\nrole = "manager"\n'
    joined = make_helpdesk(
        desk.app.settings.database.url,
        Path(desk.app.settings.storage.dir),
        EXTRA + dora,
        SLA_CONFIG,
    )
    joined.clock.advance(desk.clock.now() - joined.clock.now() + timedelta(days=1, hours=1))
    assert _sweep(joined) == 2  # the first response and the resolution, both breached
    joined.app.engine.dispose()
    doras = [o for o in desk.outbox(ticket_id) if o.recipients == ["dora@acme.example"]]
    assert [o.template for o in doras] == ["agent/sla_breached"] * 2
    first, second = (o.context["history"] for o in doras)
    assert first is not None and "The printer is on fire." in first["messages"][0]["text"]
    assert second is None
    carlas = [o for o in desk.outbox(ticket_id) if o.recipients == ["carla@acme.example"]]
    assert all(o.context["history"] is None for o in carlas)  # Carla had the new ticket's


def test_the_sweeps_notices_say_what_a_notice_of_one_ticket_says(desk: Helpdesk) -> None:
    # The sweep reads the template context of its whole batch at once; each ticket's must be
    # the one the ticket alone gets: its participants, the customer's other open tickets.
    first = desk.deliver(compose(subject="One", cc="bo@example.net")).ticket_id
    second = desk.deliver(compose(subject="Two")).ticket_id
    other = desk.deliver(compose(sender="cy@example.org", subject="Three")).ticket_id
    assert first is not None and second is not None and other is not None
    with desk.app.sessions() as session:
        tickets = session.scalars(select(Ticket).order_by(Ticket.id)).all()
        batch = ticket_contexts(session, tickets, "ACME")
        alone = {t.id: ticket_context(session, t, "ACME") for t in tickets}
    assert batch == alone
    assert [t["id"] for t in batch[first]["open_tickets"]] == [second]
    assert batch[first]["recipients"]["to"] == ["ana@example.com", "bo@example.net"]
    assert batch[other]["open_tickets"] == []
