"""On call on the frozen clock: who gets a ticket at night, what the customer is told, and
who hears of it when the agent on call does not act."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest

from mailtickets.config.load import parse_settings
from mailtickets.errors import ConfigError
from mailtickets.services import absence, oncall
from tests.support.cli import SECRET
from tests.support.helpdesk import CONFIG, Helpdesk, make_helpdesk
from tests.support.mail import compose

ON_CALL_CONFIG = CONFIG.replace('name = "Support"\n', 'name = "Support"\non_call = "nights"\n')
EXTRA = """
[[agent]]
address = "dora@acme.example"
name = "Dora"
queues = ["Support"]
[[agent]]
address = "carla@acme.example"
name = "Carla"
role = "manager"
[[calendar]]
name = "office"
timezone = "America/Sao_Paulo"
hours = { "mon-fri" = "09:00-18:00" }
[[rule]]
name = "outage"
[rule.match]
subject = ["down"]
[rule.set]
priority = "urgent"
[[rota]]
name = "nights"
calendar = "office"
agents = ["alice@acme.example", "dora@acme.example"]
rotation = "weekly"
starts = "2026-11-02 09:00"
ack_within = "30m"
"""
#: Sunday 8 November 2026, 03:00 in São Paulo (UTC-3): the office is closed.
SUNDAY_NIGHT = datetime(2026, 11, 8, 6, 0, tzinfo=UTC)
#: Tuesday 3 November 2026, 11:00 in São Paulo: the office is open.
TUESDAY_MORNING = datetime(2026, 11, 3, 14, 0, tzinfo=UTC)


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Helpdesk]:
    helpdesk = make_helpdesk(f"sqlite:///{tmp_path / 'oncall.db'}", tmp_path, EXTRA, ON_CALL_CONFIG)
    yield helpdesk
    helpdesk.app.engine.dispose()


def _at(desk: Helpdesk, moment: datetime) -> None:
    desk.clock.advance(moment - desk.clock.now())


def _acknowledgement(desk: Helpdesk, ticket_id: int, customer: str) -> str:
    """The acknowledgement's text as the customer receives it."""
    desk.send_all()
    for path in (desk.app.settings.outgoing.maildir / "new").iterdir():
        mail = message_from_bytes(path.read_bytes(), policy=default)
        if f"#{ticket_id}]" in str(mail["Subject"]) and customer in str(mail["To"]):
            body = mail.get_body(("plain",))
            assert body is not None
            return " ".join(str(body.get_content()).split())
    raise AssertionError(f"no acknowledgement for ticket #{ticket_id}")


def _escalations(desk: Helpdesk, ticket_id: int) -> list[list[str]]:
    return [o.recipients for o in desk.outbox(ticket_id) if o.template == "agent/on_call_escalated"]


def test_a_ticket_on_sunday_night_goes_to_the_agent_on_call_and_the_customer_is_told(
    desk: Helpdesk,
) -> None:
    _at(desk, SUNDAY_NIGHT)
    ticket_id = desk.deliver(compose(sender="ana@example.com")).ticket_id
    assert ticket_id is not None
    assert desk.ticket(ticket_id)["assignee"] == "alice@acme.example"
    (paged,) = desk.events(ticket_id, "on_call")
    assert paged.data["rota"] == "nights"
    assert paged.data["why"] == "outside business hours"
    text = _acknowledgement(desk, ticket_id, "ana@example.com")
    assert "Alice is on call and has been told about your request" in text
    assert "opens again on Monday, November 9, 2026, 9:00" in text
    assert "(America/Sao_Paulo)" in text
    # Only the agent on call hears of it: the ticket is theirs.
    notices = [o.recipients for o in desk.outbox(ticket_id) if o.template == "agent/new_ticket"]
    assert notices == [["alice@acme.example"]]


def test_the_acknowledgement_speaks_the_customers_language(desk: Helpdesk) -> None:
    _at(desk, SUNDAY_NIGHT)
    mail = compose(
        sender="joao@example.com",
        subject="Impressora não imprime",
        body="Bom dia, a impressora do escritório parou de imprimir desde ontem à tarde.",
    )
    ticket_id = desk.deliver(mail).ticket_id
    assert ticket_id is not None
    text = _acknowledgement(desk, ticket_id, "joao@example.com")
    assert "Alice está de plantão" in text
    assert "segunda-feira, 9 de novembro de 2026" in text


def test_in_business_hours_nobody_is_paged_unless_the_ticket_is_urgent(desk: Helpdesk) -> None:
    _at(desk, TUESDAY_MORNING)
    calm = desk.deliver(compose(sender="ana@example.com", subject="A question")).ticket_id
    assert calm is not None
    assert desk.ticket(calm)["assignee"] is None
    assert desk.events(calm, "on_call") == []
    text = _acknowledgement(desk, calm, "ana@example.com")
    assert "We will get back to you as soon as we can." in text

    # A rule makes outages urgent: the agent on call takes them, even in office hours.
    urgent = desk.deliver(compose(sender="bia@example.com", subject="Site down")).ticket_id
    assert urgent is not None
    assert desk.ticket(urgent)["priority"] == "urgent"
    assert desk.ticket(urgent)["assignee"] == "alice@acme.example"
    assert desk.events(urgent, "on_call")[0].data["why"] == "urgent"
    text = _acknowledgement(desk, urgent, "bia@example.com")
    assert "Alice is on call for urgent requests and has been told about yours." in text


def test_without_anyone_on_call_the_customer_is_told_when_the_team_is_back(
    tmp_path: Path,
) -> None:
    # A queue whose SLA counts office hours, and no rota: nobody is paged, nobody promised.
    config = CONFIG.replace('name = "Support"\n', 'name = "Support"\nsla = "std"\n')
    extra = EXTRA.replace("[[rota]]", '[[sla]]\nname = "std"\ncalendar = "office"\n[[rota]]')
    desk = make_helpdesk(f"sqlite:///{tmp_path / 'closed.db'}", tmp_path, extra, config)
    _at(desk, SUNDAY_NIGHT)
    ticket_id = desk.deliver(compose(sender="ana@example.com")).ticket_id
    assert ticket_id is not None
    assert desk.ticket(ticket_id)["assignee"] is None
    text = _acknowledgement(desk, ticket_id, "ana@example.com")
    assert "Our team is away right now. We will answer when we are back, from Monday" in text
    assert "on call" not in text
    desk.app.engine.dispose()


def test_no_action_in_30_minutes_tells_the_next_agent_and_the_managers_once(
    desk: Helpdesk,
) -> None:
    _at(desk, SUNDAY_NIGHT)
    ticket_id = desk.deliver(compose(sender="ana@example.com")).ticket_id
    assert ticket_id is not None
    desk.clock.advance(timedelta(minutes=29))
    assert oncall.escalate(desk.app.sessions, desk.app.sla, desk.clock.now()) == 0
    desk.clock.advance(timedelta(minutes=1))
    assert oncall.escalate(desk.app.sessions, desk.app.sla, desk.clock.now()) == 1
    assert sorted(_escalations(desk, ticket_id)) == [
        ["carla@acme.example"],
        ["dora@acme.example"],
    ]
    (escalated,) = desk.events(ticket_id, "on_call_escalated")
    assert escalated.data["agent"] == "alice@acme.example"
    # Told once, whatever later sweeps or a restarted daemon do.
    desk.clock.advance(timedelta(hours=2))
    restarted = make_helpdesk(
        desk.app.settings.database.url, Path(desk.app.settings.storage.dir), EXTRA, ON_CALL_CONFIG
    )
    assert oncall.escalate(restarted.app.sessions, restarted.app.sla, desk.clock.now()) == 0
    restarted.app.engine.dispose()
    assert len(_escalations(desk, ticket_id)) == 2


def test_while_the_agent_on_call_is_away_the_next_one_takes_the_ticket(desk: Helpdesk) -> None:
    _at(desk, SUNDAY_NIGHT)
    with desk.app.sessions.begin() as session:
        alice = absence.find_agent(session, "alice@acme.example")
        absence.set_away(alice, desk.clock.now(), None, absence.BY_CLI)
    ticket_id = desk.deliver(compose(sender="ana@example.com")).ticket_id
    assert ticket_id is not None
    assert desk.ticket(ticket_id)["assignee"] == "dora@acme.example"


def test_an_agent_on_call_who_acts_in_time_is_not_escalated(desk: Helpdesk) -> None:
    _at(desk, SUNDAY_NIGHT)
    ticket_id = desk.deliver(compose(sender="ana@example.com")).ticket_id
    assert ticket_id is not None
    desk.clock.advance(timedelta(minutes=10))
    desk.agent_says(ticket_id, "#note looking into it")
    desk.clock.advance(timedelta(hours=1))
    assert oncall.escalate(desk.app.sessions, desk.app.sla, desk.clock.now()) == 0
    assert _escalations(desk, ticket_id) == []


def test_the_turn_passes_at_the_weekly_handover_and_a_shift_overrides_it(tmp_path: Path) -> None:
    shift = (
        EXTRA
        + """
[[rota.shift]]
agent = "alice@acme.example"
starts = "2026-11-14 00:00"
ends = "2026-11-15 00:00"
"""
    )
    desk = make_helpdesk(f"sqlite:///{tmp_path / 'turns.db'}", tmp_path, shift, ON_CALL_CONFIG)
    # Tuesday 10 November 22:00 local: the second week, Dora's turn.
    _at(desk, datetime(2026, 11, 11, 1, 0, tzinfo=UTC))
    second_week = desk.deliver(compose(sender="ana@example.com")).ticket_id
    # Saturday 14 November 12:00 local: Alice covers the day by an explicit shift.
    _at(desk, datetime(2026, 11, 14, 15, 0, tzinfo=UTC))
    covered = desk.deliver(compose(sender="bia@example.com")).ticket_id
    assert second_week is not None and covered is not None
    assert desk.ticket(second_week)["assignee"] == "dora@acme.example"
    assert desk.ticket(covered)["assignee"] == "alice@acme.example"
    desk.app.engine.dispose()


@pytest.mark.parametrize(
    ("extra", "queue_extra", "problem"),
    [
        (
            "",
            'on_call = "days"\n',
            '[queue.support@acme.example] on_call: no [[rota]] is named "days"',
        ),
        (
            EXTRA.replace('"dora@acme.example"]', '"eve@acme.example"]'),
            'on_call = "nights"\n',
            "[rota.nights] agents: eve@acme.example is not an [[agent]]",
        ),
        (
            EXTRA.replace('calendar = "office"\nagents', 'calendar = "home"\nagents'),
            'on_call = "nights"\n',
            "[rota.nights] calendar: names no [[calendar]]: 'home'",
        ),
        (
            EXTRA.replace('starts = "2026-11-02 09:00"', 'starts = "next monday"'),
            'on_call = "nights"\n',
            "[rota.nights] starts: must be a local date and time",
        ),
    ],
)
def test_a_wrong_rota_is_named_with_its_key(extra: str, queue_extra: str, problem: str) -> None:
    base = CONFIG.format(url="sqlite:///x.db", directory="/tmp")
    text = base.replace('name = "Support"\n', f'name = "Support"\n{queue_extra}') + extra
    with pytest.raises(ConfigError) as raised:
        parse_settings(text, "test", None, {"SECRET": SECRET})
    assert any(p.startswith(problem) for p in raised.value.problems), raised.value.problems
