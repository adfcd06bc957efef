"""Two instances meet a new customer at once: one contact, and neither message fails."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from mailtickets.db import migrate
from mailtickets.db.base import make_engine, session_factory
from mailtickets.db.models import Contact
from mailtickets.services.tickets import contact_for

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _waiting_on_a_lock(engine: Engine, thread: threading.Thread, seconds: float = 30) -> bool:
    """Whether a session of this database comes to wait on a lock while `thread` runs."""
    deadline = time.monotonic() + seconds
    query = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    with engine.connect() as connection:
        # Each look is a round trip to the server: that paces the loop.
        while thread.is_alive() and time.monotonic() < deadline:
            if connection.execute(query).scalar():
                return True
            connection.rollback()  # a fresh snapshot of the activity for the next look
    return False


def test_a_new_customers_first_two_mails_on_two_instances_make_one_contact(
    postgres_url: str,
) -> None:
    engine = make_engine(postgres_url)
    migrate.upgrade(engine)
    sessions = session_factory(engine)
    found: dict[str, int] = {}
    with sessions.begin() as first:
        made = contact_for(first, "ana@example.com", "Ana", NOW)

        def second_instance() -> None:
            # Its insert waits on the first transaction's uncommitted row.
            with sessions.begin() as second:
                found["id"] = contact_for(second, "ana@example.com", "Ana", NOW).id

        other = threading.Thread(target=second_instance)
        other.start()
        # Committed only once the second insert is seen waiting on this transaction's row:
        # otherwise a slow thread could start after the commit, find the contact, and pass
        # without the two ever meeting.
        assert _waiting_on_a_lock(engine, other), "the second insert waits for the first"
    other.join(timeout=30)
    assert not other.is_alive()
    assert found == {"id": made.id}
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 1
    engine.dispose()
