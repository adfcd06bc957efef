"""The list of tickets, for `tickets list` and `GET /api/tickets`: one statement at the
driver's level (see `db.driver`), so that the command imports neither SQLAlchemy nor the models.

The statement names the tables and columns of `db.models.ticket` and `db.models.directory`;
the tests of both commands run it on SQLite and PostgreSQL at the head revision.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from mailtickets.db.driver import Driver, timestamp
from mailtickets.db.ticket_status import TicketStatus

_SELECT = """
SELECT t.id, t.subject, t.status, t.priority, q.address, c.address, a.address,
       coalesce(m.n, 0), t.created_at, t.updated_at
FROM ticket AS t
JOIN queue AS q ON q.id = t.queue_id
JOIN contact AS c ON c.id = t.contact_id
LEFT OUTER JOIN agent AS a ON a.id = t.assignee_id
LEFT OUTER JOIN (
    SELECT ticket_id, count(id) AS n FROM message GROUP BY ticket_id
) AS m ON m.ticket_id = t.id"""


class Listed(NamedTuple):
    """One ticket of the list; `view` makes it the JSON object the commands print."""

    id: int
    subject: str
    status: str
    priority: str
    queue: str
    customer: str
    assignee: str | None
    messages: int
    created_at: datetime
    updated_at: datetime


def list_tickets(
    driver: Driver,
    status: str | None = None,
    queue: str | None = None,
    due_before: datetime | None = None,
    *,
    after: int | None = None,
    limit: int | None = None,
) -> list[Listed]:
    """Tickets, oldest first; `due_before` keeps those with an SLA due time before it.

    `after` and `limit` read one page: at most `limit` tickets numbered above `after`.
    """
    where: list[str] = []
    params: dict[str, Any] = {}

    def param(name: str, value: object) -> str:
        params[name] = value
        return driver.param(name)

    if status:
        where.append(f"t.status = {param('status', TicketStatus(status).value)}")
    if queue:
        where.append(
            f"(q.address = {param('address', queue.lower())} OR q.name = {param('name', queue)})"
        )
    if due_before is not None:
        due = param("due", driver.timestamp_param(due_before))
        where.append(
            f"(t.first_response_due <= {due} OR t.next_response_due <= {due} "
            f"OR t.resolution_due <= {due})"
        )
    if after is not None:
        where.append(f"t.id > {param('after', after)}")
    sql = _SELECT + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY t.id"
    if limit is not None:
        sql += f" LIMIT {param('limit', limit)}"
    return [
        Listed._make((*row[:8], timestamp(row[8]), timestamp(row[9])))
        for row in driver.rows(sql, params)
    ]


def view(ticket: Listed) -> dict[str, Any]:
    """`ticket` as the JSON views show it (the field names are a contract)."""
    return {
        "id": ticket.id,
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "queue": ticket.queue,
        "customer": ticket.customer,
        "assignee": ticket.assignee,
        "messages": ticket.messages,
        "created_at": ticket.created_at.isoformat(),
        "updated_at": ticket.updated_at.isoformat(),
    }
