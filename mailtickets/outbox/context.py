"""The variables every mail template receives, built from a ticket (see render.SAMPLE_CONTEXT)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, CompoundSelect, Select, bindparam, func, select, union_all
from sqlalchemy.orm import Session, aliased

from mailtickets.db.models import Contact, Participant, SatisfactionRating, Ticket, TicketStatus
from mailtickets.mail.commands import HELP
from mailtickets.mail.subjects import tag
from mailtickets.outbox.attachments import NO_FILES

MAX_OPEN_TICKETS = 5
#: Enough of a rating's comment for an agent to see how the customer felt.
MAX_RATING_COMMENT = 200
_OPEN = (TicketStatus.OPEN, TicketStatus.PENDING)
#: Customers whose open tickets one statement reads: SQLite allows 500 terms to a UNION.
MAX_UNION = 200
#: One of the customer's other open tickets: its id, subject and status.
Opened = tuple[int, str, TicketStatus]


def ticket_context(
    session: Session,
    ticket: Ticket,
    prefix: str,
    *,
    author: str = "",
    new_text: str = "",
    agent: dict[str, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    others = session.execute(
        select(Ticket.id, Ticket.subject, Ticket.status)
        .where(
            Ticket.contact_id == ticket.contact_id,
            Ticket.id != ticket.id,
            Ticket.status.in_(_OPEN),
        )
        .order_by(Ticket.id.desc())
        .limit(MAX_OPEN_TICKETS)
    ).all()
    mailed, pending = mailed_and_pending(session, ticket)
    rating = session.scalar(
        select(SatisfactionRating)
        .where(SatisfactionRating.contact_id == ticket.contact_id)
        .order_by(SatisfactionRating.rated_at.desc(), SatisfactionRating.id.desc())
        .limit(1)
    )
    return (
        _context(ticket, prefix, others, rating, mailed, pending)
        | {
            "message": {"author": author, "new_text": new_text},
            "agent": agent,
        }
        | extra
    )


def ticket_contexts(
    session: Session, tickets: Sequence[Ticket], prefix: str
) -> dict[int, dict[str, Any]]:
    """`ticket_context` of each of `tickets` (by id, with no message and no agent), read in
    three statements (one more for each MAX_UNION customers): for the SLA sweep, which tells
    of many at once."""
    contacts = sorted({ticket.contact_id for ticket in tickets})
    ids = [ticket.id for ticket in tickets]
    open_tickets: dict[int, list[Opened]] = defaultdict(list)
    for start in range(0, len(contacts), MAX_UNION):
        customers = {f"c{i}": c for i, c in enumerate(contacts[start : start + MAX_UNION])}
        rows = session.execute(_newest_open(len(customers)), customers)
        for id_, subject, status, contact in rows:
            open_tickets[contact].append((id_, subject, TicketStatus(status)))
    latest = (
        select(
            SatisfactionRating,
            func.row_number()
            .over(
                partition_by=SatisfactionRating.contact_id,
                order_by=(SatisfactionRating.rated_at.desc(), SatisfactionRating.id.desc()),
            )
            .label("rank"),
        )
        .where(SatisfactionRating.contact_id.in_(contacts))
        .subquery()
    )
    rated = aliased(SatisfactionRating, latest)
    ratings = {r.contact_id: r for r in session.scalars(select(rated).where(latest.c.rank == 1))}
    people: dict[int, tuple[list[str], list[str]]] = {i: ([], []) for i in ids}
    for address, waiting, ticket_id in session.execute(
        _participants(Participant.ticket_id.in_(ids)).add_columns(Participant.ticket_id)
    ):
        people[ticket_id][waiting].append(address)
    return {
        ticket.id: _context(
            ticket,
            prefix,
            sorted((o for o in open_tickets[ticket.contact_id] if o[0] != ticket.id), reverse=True)[
                :MAX_OPEN_TICKETS
            ],
            ratings.get(ticket.contact_id),
            *people[ticket.id],
        )
        for ticket in tickets
    }


@cache
def _newest_open(customers: int) -> CompoundSelect[int, str, TicketStatus, int]:
    """The newest open tickets of each of `customers` customers (bound as c0, c1…), one more
    than shown (the ticket itself may be one): a limited read per customer, all in one
    statement, built once per size. Ranking all their tickets instead read every ticket of
    every customer, which at a hundred each took longer than the rest of the SLA sweep."""
    return union_all(
        *(
            select(
                select(Ticket.id, Ticket.subject, Ticket.status, Ticket.contact_id)
                .where(Ticket.contact_id == bindparam(f"c{i}"), Ticket.status.in_(_OPEN))
                .order_by(Ticket.id.desc())
                .limit(MAX_OPEN_TICKETS + 1)
                .subquery()
            )
            for i in range(customers)
        )
    )


def _context(
    ticket: Ticket,
    prefix: str,
    others: Sequence[Opened],
    rating: SatisfactionRating | None,
    mailed: list[str],
    pending: list[str],
) -> dict[str, Any]:
    contact = ticket.contact
    return {
        "ticket": {
            "id": ticket.id,
            "subject": ticket.subject,
            "status": ticket.status.value,
            "priority": ticket.priority.value,
            "tag": tag(prefix, ticket.id),
        },
        "queue": {"name": ticket.queue.name, "address": ticket.queue.address},
        "customer": {"name": contact.name, "address": contact.address, "locale": contact.locale},
        "message": {"author": "", "new_text": ""},
        "open_tickets": [
            {"id": id_, "subject": subject, "status": status.value}
            for id_, subject, status in others
        ],
        "last_rating": _rating(rating),
        "agent": None,
        "commands": list(HELP),
        "omitted_attachments": [],
        "files": NO_FILES.context(ticket.id),
        # The conversation so far, for an agent who has not seen it (outbox.history).
        "history": None,
        # Who an answer goes to, and who waits for an agent's `#cc add` (agents' notices).
        "recipients": {"to": mailed, "pending": pending},
    }


def mailed_and_pending(session: Session, ticket: Ticket) -> tuple[list[str], list[str]]:
    """The addresses the ticket's answers go to, the customer first, and those listed as
    pending; read from the database, so a change earlier in this transaction is seen."""
    rows = session.execute(_participants(Participant.ticket_id == ticket.id)).all()
    return [a for a, pending in rows if not pending], [a for a, pending in rows if pending]


def _participants(which: ColumnElement[bool]) -> Select[str, bool]:
    """The addresses and pending flags of the participants `which` picks, the customer first."""
    return (
        select(Contact.address, Participant.pending)
        .join(Contact, Participant.contact_id == Contact.id)
        .where(which)
        .order_by(Participant.role != "requester", Participant.id)
    )


def _rating(row: SatisfactionRating | None) -> dict[str, Any] | None:
    """The customer's latest satisfaction rating, of any of their tickets, as mail shows it."""
    if row is None:
        return None
    comment = " ".join((row.comment or "").split())
    if len(comment) > MAX_RATING_COMMENT:
        comment = comment[: MAX_RATING_COMMENT - 1] + "…"
    return {"ticket": row.ticket_id, "rating": row.rating, "comment": comment or None}
