"""Claim work rows (intake, outbox, webhooks) by leasing them: count the attempt, push the
next try out.

The lease is committed before the work starts, so a crash mid-work still counts towards
giving up. Each lease names its holder (`Duties.name`, in a `Lease` row) and is released
when the work ends; an instance that starts makes the rows its dead predecessors held due at
once (`reclaim`) instead of leaving them to wait out their backoff. On PostgreSQL, SKIP
LOCKED lets several instances claim different rows at once.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import ColumnElement, Select, delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from mailtickets.db.models import (
    InboundMessage,
    IntakeStatus,
    Lease,
    OutboundMessage,
    OutboundStatus,
    WebhookDelivery,
    WebhookStatus,
)
from mailtickets.db.ownership import Duties

#: The tables whose rows are leased.
Work = type[InboundMessage] | type[OutboundMessage] | type[WebhookDelivery]
Row = InboundMessage | OutboundMessage | WebhookDelivery

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=6)
#: How much of an error is kept on a row (the log has the rest).
MAX_ERROR = 2000


def backoff(first: timedelta, attempts: int) -> timedelta:
    """The wait after the `attempts`-th try: doubling from `first`, at most six hours."""
    doublings = min(max(attempts - 1, 0), 20)  # beyond 20 the cap applies anyway
    return min(first * (1 << doublings), MAX_BACKOFF)


def lease(
    sessions: sessionmaker[Session],
    model: Work,
    now: datetime,
    retry_delay: timedelta,
    row_id: int | None = None,
    *,
    holder: str,
) -> int | None:
    """Lease the oldest due pending row (or row `row_id`) for `holder`; None when none is."""
    with sessions.begin() as session:
        query = _pending(model)
        if row_id is None:
            query = query.where(model.next_attempt_at <= now).order_by(model.id).limit(1)
        else:
            query = query.where(model.id == row_id)
        row = session.scalar(query.with_for_update(skip_locked=True))
        if row is None:
            return None
        return _take(session, [row], now, retry_delay, holder)[0]


def lease_batch(
    sessions: sessionmaker[Session],
    model: Work,
    now: datetime,
    retry_delay: timedelta,
    limit: int,
    *,
    holder: str,
    where: ColumnElement[bool] | None = None,
) -> list[int]:
    """Lease up to `limit` due pending rows (that match `where`), oldest first, in one
    transaction.

    Only rows never tried are leased together. A row being retried is leased alone, so a
    message that brought the process down costs the rows leased with it one attempt, once,
    and from then on only itself.
    """
    with sessions.begin() as session:
        query = _pending(model).where(model.next_attempt_at <= now).order_by(model.id)
        if where is not None:
            query = query.where(where)
        rows = list(session.scalars(query.limit(limit).with_for_update(skip_locked=True)))
        if rows and rows[0].attempts:
            rows = rows[:1]
        else:
            rows = list(itertools.takewhile(lambda row: not row.attempts, rows))
        return _take(session, rows, now, retry_delay, holder)


def release(session: Session, row: Row) -> None:
    """The work on `row` ended, in the caller's transaction: nobody holds it any more."""
    session.execute(delete(Lease).where(Lease.work == row.__tablename__, Lease.row_id == row.id))


def reclaim(sessions: sessionmaker[Session], duties: Duties, started: datetime) -> dict[str, int]:
    """Make the pending rows leased before `started` by instances that are not running any
    more due at once; return how many of each kind were.

    On SQLite every other instance has stopped (one instance per file); on PostgreSQL an
    instance runs while its session holds its identity lock, so a live instance's leases
    are never taken. The attempt each lease counted stays counted: a message that kills
    every process that takes it is still quarantined after `max_attempts`.
    """
    reclaimed = {}
    models: tuple[tuple[str, Work], ...] = (
        ("intake", InboundMessage),
        ("outbox", OutboundMessage),
        ("webhooks", WebhookDelivery),
    )
    for kind, model in models:
        held = (Lease.work == model.__tablename__) & (Lease.leased_at < started)
        with sessions.begin() as session:
            holders = set(session.scalars(select(Lease.holder).where(held).distinct()))
            theirs = held & Lease.holder.in_(holders - duties.alive(holders) - {duties.name})
            due = session.scalars(
                update(model)
                .where(
                    model.status == _PENDING[model],
                    model.id.in_(select(Lease.row_id).where(theirs)),
                )
                .values(next_attempt_at=started)
                .returning(model.id)
            )
            reclaimed[kind] = len(due.all())
            # All their leases go, also any whose row is no longer pending or no longer there.
            stale = session.scalars(delete(Lease).where(theirs).returning(Lease.holder))
            names = sorted(set(stale))
        if reclaimed[kind]:
            log.info(
                "%s %s row(s) leased by %s, which stopped, are due again",
                reclaimed[kind],
                kind,
                ", ".join(names),
            )
    return reclaimed


_PENDING: dict[Work, str] = {
    InboundMessage: IntakeStatus.PENDING,
    OutboundMessage: OutboundStatus.PENDING,
    WebhookDelivery: WebhookStatus.PENDING,
}


def _pending(model: Work) -> Select[Row]:
    return cast("Select[Row]", select(model).where(model.status == _PENDING[model]))


def _take(
    session: Session,
    rows: Sequence[Row],
    now: datetime,
    retry_delay: timedelta,
    holder: str,
) -> list[int]:
    """Count an attempt on each of `rows`, push its next one out, and record `holder`."""
    for row in rows:
        row.attempts += 1
        row.next_attempt_at = now + backoff(retry_delay, row.attempts)
    if not rows:
        return []
    work, ids = rows[0].__tablename__, [row.id for row in rows]
    # A lease left by an earlier attempt that did not end is replaced.
    session.execute(delete(Lease).where(Lease.work == work, Lease.row_id.in_(ids)))
    session.add_all(Lease(work=work, row_id=i, holder=holder, leased_at=now) for i in ids)
    return ids
