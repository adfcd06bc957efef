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


def imap(raw: bytes, uid: int, uidvalidity: int = 7) -> Arrival:
    return Arrival(raw, Envelope("imap", source_key=f"box/INBOX/{uidvalidity}/{uid}"), NOW)


def test_a_batch_recognises_what_was_stored_before_by_key_by_content_and_within_itself(
    database_url: str,
) -> None:
    store = Store(database_url)
    try:
        no_id = b"From: ana@example.com\r\nSubject: no id\r\n\r\nHello\r\n"
        before = accept_all(
            store.sessions,
            [imap(message(message_id="a@example.com"), 1), imap(no_id, 2)],
        )
        batch = [
            imap(message(message_id="a@example.com"), 1),  # the same delivery again
            imap(no_id, 2, uidvalidity=8),  # the same bytes under a new UIDVALIDITY
            imap(message(message_id="b@example.com"), 3),  # new
            imap(message(message_id="b@example.com"), 4),  # new, but the same as the last one
            imap(message(subject="other", message_id="a@example.com"), 5),  # other bytes
            Arrival(message(message_id="c@example.com"), ENVELOPE, NOW),  # another source
        ]
        again = accept_all(store.sessions, batch)
        rows = store.rows()
    finally:
        store.engine.dispose()
    assert [a.duplicate for a in again] == [True, True, False, True, False, False]
    assert again[0].id == before[0].id and again[1].id == before[1].id
    assert again[3].id == again[2].id
    assert len(rows) == 5
    assert {row.id for row in rows} == {a.id for a in before + again}
    assert {row.id: row.raw for row in rows}[again[4].id] == batch[4].raw


def test_a_batch_shares_the_commits_of_single_deliveries_and_each_gets_its_own_rows(
    tmp_path: Path,
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'mt.db'}")
    intake = GroupCommit(store.sessions)
    batches = [
        [imap(message(message_id=f"b{n}-{m}@example.com"), 100 * n + m) for m in range(50)]
        for n in range(4)
    ]
    singles = [message(message_id=f"s{n}@example.com") for n in range(40)]
    with ThreadPoolExecutor(8) as pool:
        stored = pool.map(intake.accept_all, batches)
        answered = list(pool.map(lambda raw: intake.accept(raw, ENVELOPE, NOW), singles))
        by_batch = list(stored)
    rows = {row.id: row for row in store.rows()}
    assert len(rows) == 4 * 50 + 40
    for batch, accepted in zip(batches, by_batch, strict=True):
        assert [rows[a.id].source_key for a in accepted] == [b.envelope.source_key for b in batch]
        assert not any(a.duplicate for a in accepted)
    assert [rows[a.id].message_id for a in answered] == [f"s{n}@example.com" for n in range(40)]
