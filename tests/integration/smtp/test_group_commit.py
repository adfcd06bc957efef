"""Messages stored together share a commit, and each is still stored once and answered."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mailtickets.ingest.intake import Arrival, Envelope, GroupCommit, accept_all
from tests.support.smtp import NOW, Store, message

ENVELOPE = Envelope("smtp", "ana@example.com", ("support@acme.example",))


def test_concurrent_deliveries_are_each_stored_once(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'mt.db'}")
    intake = GroupCommit(store.sessions)
    raws = [message(subject=f"m{n % 20}", message_id=f"m{n % 20}@example.com") for n in range(60)]
    with ThreadPoolExecutor(12) as pool:
        accepted = list(pool.map(lambda raw: intake.accept(raw, ENVELOPE, NOW), raws))
    rows = store.rows()
    assert len(rows) == 20
    assert sorted({a.id for a in accepted}) == sorted(row.id for row in rows)
    assert sum(not a.duplicate for a in accepted) == 20


def test_the_same_message_twice_in_one_batch_is_one_row(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'mt.db'}")
    same = Arrival(message(), ENVELOPE, NOW)
    first, second, other = accept_all(
        store.sessions, [same, same, Arrival(message(message_id="m2@example.com"), ENVELOPE, NOW)]
    )
    assert (first.duplicate, second.duplicate, other.duplicate) == (False, True, False)
    assert second.id == first.id
    assert len(store.rows()) == 2


def test_a_message_id_in_the_body_is_not_the_messages(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'mt.db'}")
    raw = b"From: ana@example.com\r\nSubject: quoted\r\n\r\nMessage-ID: <quoted@example.com>\r\n"
    accept_all(store.sessions, [Arrival(raw, ENVELOPE, NOW)])
    (row,) = store.rows()
    assert row.message_id is None
