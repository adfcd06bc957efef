"""Claim work rows (intake, outbox) by leasing them: count the attempt, push the next try out.

The lease is committed before the work starts, so a crash mid-work retries the row after its
backoff and still counts towards giving up. On PostgreSQL, SKIP LOCKED lets several
instances claim different rows at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailtickets.db.models import InboundMessage, IntakeStatus, OutboundMessage, OutboundStatus

MAX_BACKOFF = timedelta(hours=6)
#: How much of an error is kept on a row (the log has the rest).
MAX_ERROR = 2000


def backoff(first: timedelta, attempts: int) -> timedelta:
    """The wait after the `attempts`-th try: doubling from `first`, at most six hours."""
    doublings = min(max(attempts - 1, 0), 20)  # beyond 20 the cap applies anyway
    return min(first * (1 << doublings), MAX_BACKOFF)


def lease(
    sessions: sessionmaker[Session],
    model: type[InboundMessage] | type[OutboundMessage],
    now: datetime,
    retry_delay: timedelta,
    row_id: int | None = None,
) -> int | None:
    """Lease the oldest due pending row (or row `row_id`); None when there is none."""
    with sessions.begin() as session:
        pending = IntakeStatus.PENDING if model is InboundMessage else OutboundStatus.PENDING
        query = select(model).where(model.status == pending)
        if row_id is None:
            query = query.where(model.next_attempt_at <= now).order_by(model.id).limit(1)
        else:
            query = query.where(model.id == row_id)
        found = session.scalar(query.with_for_update(skip_locked=True))
        row = cast("InboundMessage | OutboundMessage | None", found)
        if row is None:
            return None
        row.attempts += 1
        row.next_attempt_at = now + backoff(retry_delay, row.attempts)
        return row.id
