"""Two instances meet a new customer at once: one contact, and neither message fails."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import func, select

from mailtickets.db import migrate
from mailtickets.db.base import make_engine, session_factory
from mailtickets.db.models import Contact
from mailtickets.services.tickets import contact_for

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


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
        other.join(timeout=1)
        assert other.is_alive(), "the second insert waits for the first transaction"
    other.join(timeout=10)
    assert found == {"id": made.id}
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 1
    engine.dispose()
