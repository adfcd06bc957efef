"""Claim work rows (intake, outbox) by leasing them: count the attempt, push the next try out.

The lease is committed before the work starts, so a crash mid-work retries the row after its
backoff and still counts towards giving up. On PostgreSQL, SKIP LOCKED lets several
instances claim different rows at once.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Select, select
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
        query = _pending(model)
        if row_id is None:
            query = query.where(model.next_attempt_at <= now).order_by(model.id).limit(1)
        else:
            query = query.where(model.id == row_id)
        row = session.scalar(query.with_for_update(skip_locked=True))
        if row is None:
            return None
        return _take(row, now, retry_delay)


def lease_batch(
    sessions: sessionmaker[Session],
    model: type[InboundMessage] | type[OutboundMessage],
    now: datetime,
    retry_delay: timedelta,
    limit: int,
) -> list[int]:
    """Lease up to `limit` due pending rows, oldest first, in one transaction.

    Only rows never tried are leased together. A row being retried is leased alone, so a
    message that brought the process down costs the rows leased with it one attempt, once,
    and from then on only itself.
    """
    with sessions.begin() as session:
        query = _pending(model).where(model.next_attempt_at <= now).order_by(model.id)
        rows = list(session.scalars(query.limit(limit).with_for_update(skip_locked=True)))
        if rows and rows[0].attempts:
            rows = rows[:1]
        else:
            rows = list(itertools.takewhile(lambda row: not row.attempts, rows))
        return [_take(row, now, retry_delay) for row in rows]


def _pending(
    model: type[InboundMessage] | type[OutboundMessage],
) -> Select[InboundMessage | OutboundMessage]:
    pending = IntakeStatus.PENDING if model is InboundMessage else OutboundStatus.PENDING
    return cast(
        "Select[InboundMessage | OutboundMessage]",
        select(model).where(model.status == pending),
    )


def _take(row: InboundMessage | OutboundMessage, now: datetime, retry_delay: timedelta) -> int:
    row.attempts += 1
    row.next_attempt_at = now + backoff(retry_delay, row.attempts)
    return row.id
