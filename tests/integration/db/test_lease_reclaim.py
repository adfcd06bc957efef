"""Leases of instances that stopped are due again at once; a running instance's never are."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailtickets.db import migrate
from mailtickets.db.base import make_engine, session_factory
from mailtickets.db.lease import lease, lease_batch, reclaim
from mailtickets.db.models import InboundMessage, Lease, OutboundMessage
from mailtickets.db.ownership import AdvisoryLocks, SoleInstance
from mailtickets.ingest.intake import Envelope, accept
from mailtickets.outbox.enqueue import enqueue

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
RETRY = timedelta(minutes=10)


def _intake(sessions: sessionmaker[Session], count: int) -> None:
    for n in range(count):
        raw = f"From: c{n}@example.com\r\nMessage-ID: <{n}@x>\r\n\r\nhello\r\n".encode()
        accept(sessions, raw, Envelope("smtp"), T0)


def _outbox(sessions: sessionmaker[Session], count: int) -> None:
    with sessions.begin() as session:
        for n in range(count):
            enqueue(
                session,
                template="customer/acknowledgement",
                locale="en",
                recipients=[f"c{n}@example.com"],
                ticket=None,
                context={},
                now=T0,
                secret=b"k",
                domain="acme.example",
            )


def _state(
    sessions: sessionmaker[Session], model: type[InboundMessage] | type[OutboundMessage]
) -> dict[int, tuple[str | None, datetime]]:
    """Each row's lease holder (None: nobody) and when it is due."""
    lease = (Lease.work == model.__tablename__) & (Lease.row_id == model.id)
    with sessions() as session:
        rows = session.execute(
            select(model.id, Lease.holder, model.next_attempt_at)
            .outerjoin(Lease, lease)
            .order_by(model.id)
        )
        return {row_id: (holder, due) for row_id, holder, due in rows}


def test_on_sqlite_every_lease_taken_before_the_start_is_due_again(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/mt.db")
    migrate.upgrade(engine)
    sessions = session_factory(engine)
    _intake(sessions, 4)
    _outbox(sessions, 2)
    dead = "mailtickets@old:1.aaaaaa"
    assert lease_batch(sessions, InboundMessage, T0, RETRY, 2, holder=dead) == [1, 2]
    assert lease_batch(sessions, OutboundMessage, T0, RETRY, 1, holder=dead) == [1]
    started = T0 + timedelta(seconds=30)
    me = SoleInstance()
    # Taken after the start (by `mailtickets import`, say): not a predecessor's.
    assert lease(sessions, InboundMessage, started, RETRY, 3, holder="an import") == 3

    assert reclaim(sessions, me, started) == {"intake": 2, "outbox": 1, "webhooks": 0}
    intake = _state(sessions, InboundMessage)
    assert intake[1] == intake[2] == (None, started)
    assert intake[3] == ("an import", started + RETRY)
    assert intake[4] == (None, T0)
    assert _state(sessions, OutboundMessage) == {1: (None, started), 2: (None, T0)}
    assert reclaim(sessions, me, started) == {"intake": 0, "outbox": 0, "webhooks": 0}
    # The attempt the dead process made still counts.
    with sessions() as session:
        assert session.get_one(InboundMessage, 1).attempts == 1
    engine.dispose()


@pytest.mark.postgres
def test_on_postgresql_only_the_leases_of_instances_whose_session_is_gone(
    postgres_url: str,
) -> None:
    engine = make_engine(postgres_url)
    migrate.upgrade(engine)
    sessions = session_factory(engine)
    _intake(sessions, 3)
    _outbox(sessions, 1)
    alive, gone = AdvisoryLocks(engine), AdvisoryLocks(engine)
    newcomer = AdvisoryLocks(engine)
    try:
        alive.start()
        gone.start()
        assert lease(sessions, InboundMessage, T0, RETRY, 1, holder=alive.name) == 1
        assert lease(sessions, InboundMessage, T0, RETRY, 2, holder=gone.name) == 2
        assert lease(sessions, OutboundMessage, T0, RETRY, holder=gone.name) == 1
        gone.close()  # as when its process dies: the server ends the session
        newcomer.start()
        started = T0 + timedelta(seconds=5)
        assert newcomer.alive([alive.name, gone.name, newcomer.name]) == {
            alive.name,
            newcomer.name,
        }

        assert reclaim(sessions, newcomer, started) == {"intake": 1, "outbox": 1, "webhooks": 0}
        intake = _state(sessions, InboundMessage)
        assert intake[1] == (alive.name, T0 + RETRY)
        assert intake[2] == (None, started)
        assert _state(sessions, OutboundMessage) == {1: (None, started)}
    finally:
        for instance in (alive, gone, newcomer):
            instance.close()
        engine.dispose()
