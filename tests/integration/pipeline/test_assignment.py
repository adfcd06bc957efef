"""Work shared out: each new ticket goes to one of the queue's available agents, in turn or
to the least loaded, across restarts; who hears of a new ticket follows `notify_new`."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from mailtickets.services import absence
from tests.support.helpdesk import Helpdesk, make_helpdesk
from tests.support.mail import compose

CONFIG = """
[database]
url = "{url}"
[storage]
dir = "{directory}"
[tickets]
secret_env = "SECRET"
max_acknowledgements_per_hour = 100
[[queue]]
address = "support@acme.example"
name = "Support"
assign = "round_robin"
[[queue]]
address = "vendas@acme.example"
name = "Vendas"
assign = "least_open"
notify_new = "all"
[[queue]]
address = "ajuda@acme.example"
name = "Ajuda"
[[agent]]
address = "alice@acme.example"
name = "Alice"
[[agent]]
address = "bruno@acme.example"
name = "Bruno"
[[agent]]
address = "carla@acme.example"
name = "Carla"
"""
AGENTS = ("alice@acme.example", "bruno@acme.example", "carla@acme.example")


def _desk(tmp_path: Path) -> Helpdesk:
    return make_helpdesk(f"sqlite:///{tmp_path / 'mailtickets.db'}", tmp_path, config=CONFIG)


def _carla_away(desk: Helpdesk) -> None:
    with desk.app.sessions.begin() as session:
        carla = absence.find_agent(session, "carla@acme.example")
        absence.set_away(carla, desk.clock.now(), None, absence.BY_CLI)


def _new(desk: Helpdesk, n: int, queue: str) -> int:
    customer = f"c{n}@example.com"
    mail = compose(sender=customer, to=queue, subject=f"Request {n}")
    result = desk.deliver(mail, rcpt=(queue,), mail_from=customer)
    assert result.outcome == "new_ticket"
    assert result.ticket_id is not None
    return result.ticket_id


def _assignees(desk: Helpdesk, ids: list[int]) -> Counter[str | None]:
    return Counter(desk.ticket(i)["assignee"] for i in ids)


def test_round_robin_over_12_tickets_and_3_agents_one_away_survives_a_restart(
    tmp_path: Path,
) -> None:
    desk = _desk(tmp_path)
    _carla_away(desk)
    ids = [_new(desk, n, "support@acme.example") for n in range(5)]
    desk.app.engine.dispose()
    # A new process: the turn goes on from where the database says, not from the first.
    desk = _desk(tmp_path)
    ids += [_new(desk, n, "support@acme.example") for n in range(5, 12)]
    assert [desk.ticket(i)["assignee"] for i in ids[:6]] == [*AGENTS[:2]] * 3
    assert _assignees(desk, ids) == {"alice@acme.example": 6, "bruno@acme.example": 6}
    # Assigned: only the assignee hears of a new ticket (notify_new = "assignee").
    notices = [row for row in desk.outbox(ids[0]) if row.template == "agent/new_ticket"]
    assert [row.recipients for row in notices] == [["alice@acme.example"]]
    desk.app.engine.dispose()


def test_least_open_over_12_tickets_and_3_agents_one_away(tmp_path: Path) -> None:
    desk = _desk(tmp_path)
    _carla_away(desk)
    # Alice holds four open tickets of the queue, Bruno none: the load counts them.
    earlier = [_new(desk, n, "vendas@acme.example") for n in range(100, 108)]
    assert _assignees(desk, earlier) == {"alice@acme.example": 4, "bruno@acme.example": 4}
    for ticket_id in earlier:
        if desk.ticket(ticket_id)["assignee"] == "bruno@acme.example":
            assert desk.agent_says(ticket_id, "#resolve", "bruno@acme.example").outcome == (
                "commands"
            )

    ids = [_new(desk, n, "vendas@acme.example") for n in range(12)]
    # Bruno first, until he holds as many as Alice; then in turn.
    assert [desk.ticket(i)["assignee"] for i in ids[:4]] == ["bruno@acme.example"] * 4
    assert _assignees(desk, ids) == {"alice@acme.example": 4, "bruno@acme.example": 8}
    # notify_new = "all": every agent of the queue hears of the new ticket but Carla, away.
    notices = [row for row in desk.outbox(ids[0]) if row.template == "agent/new_ticket"]
    assert sorted(r for row in notices for r in row.recipients) == sorted(
        set(AGENTS) - {"carla@acme.example"}
    )
    desk.app.engine.dispose()


def test_nobody_is_assigned_when_every_agent_is_away(tmp_path: Path) -> None:
    desk = _desk(tmp_path)
    with desk.app.sessions.begin() as session:
        for address in AGENTS:
            agent = absence.find_agent(session, address)
            absence.set_away(agent, desk.clock.now(), None, absence.BY_CLI)
    ticket_id = _new(desk, 1, "support@acme.example")
    assert desk.ticket(ticket_id)["assignee"] is None
    notices = [row for row in desk.outbox(ticket_id) if row.template == "agent/new_ticket"]
    assert len(notices) == 3
    desk.app.engine.dispose()


def test_mail_for_a_queue_nobody_holds_skips_the_agent_away(tmp_path: Path) -> None:
    desk = _desk(tmp_path)
    _carla_away(desk)
    ticket_id = _new(desk, 1, "ajuda@acme.example")  # a queue that assigns nobody
    acknowledgement = desk.outbox(ticket_id)[0].message_id
    reply = compose(
        sender="c1@example.com",
        to="ajuda@acme.example",
        subject="Re: Request 1",
        in_reply_to=f"<{acknowledgement}>",
    )
    outcome = desk.deliver(reply, rcpt=("ajuda@acme.example",), mail_from="c1@example.com").outcome
    assert outcome == "follow_up"
    told = {
        template: sorted(r for row in desk.outbox(ticket_id) if row.template == template
                         for r in row.recipients)
        for template in ("agent/new_ticket", "agent/customer_replied")
    }  # fmt: skip
    assert told == {
        "agent/new_ticket": ["alice@acme.example", "bruno@acme.example"],
        "agent/customer_replied": ["alice@acme.example", "bruno@acme.example"],
    }
    desk.app.engine.dispose()
