"""The IMAP poller against a real Dovecot: what lands in the intake and what the mailbox shows.

Each test takes fresh users (empty mailboxes) on a Dovecot shared by the module and a fresh
SQLite database, and checks the intake rows and, through a second IMAP connection, the flags
and folders another mail client would see.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from imapclient import SEEN
from sqlalchemy.orm import Session, sessionmaker

from mailtickets.db.models import MailboxCursor
from mailtickets.errors import ImapError
from mailtickets.ingest import intake
from mailtickets.ingest.imap import Backoff, ImapPoller
from mailtickets.ingest.imap_connect import MISSING_FOLDER
from mailtickets.ingest.imap_folder import BATCH_MESSAGES
from mailtickets.ingest.imap_quarantine import move_to_quarantine
from mailtickets.ingest.intake import Accepted, Arrival
from tests.support.clock import FrozenClock
from tests.support.dovecot import Counter, Dovecot, Records, User, message, running_dovecot
from tests.support.smtp import NOW, QUEUES, Store

HOUR = timedelta(hours=1)
FAST = Backoff(
    first=timedelta(milliseconds=50),
    limit=timedelta(milliseconds=200),
    refused=timedelta(milliseconds=50),
)
# Capabilities of a plainer server: no IDLE, MOVE, UIDPLUS or MULTIAPPEND.
PLAIN_CAPABILITIES = "IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE NAMESPACE CHILDREN"


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    with running_dovecot() as server:
        yield server


@pytest.fixture(scope="module")
def plain_dovecot() -> Iterator[Dovecot]:
    with running_dovecot(capabilities=PLAIN_CAPABILITIES) as server:
        yield server


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Store]:
    store = Store(sqlite_url)
    yield store
    store.engine.dispose()


@pytest.fixture
def any_store(database_url: str) -> Iterator[Store]:
    """A store on SQLite and, in a second run, on PostgreSQL."""
    store = Store(database_url)
    yield store
    store.engine.dispose()


def poller(store: Store, box: Any, clock: FrozenClock | None = None, **options: Any) -> ImapPoller:
    options.setdefault("backoff", FAST)
    return ImapPoller(box, store.sessions, clock or FrozenClock(NOW), **options)


@contextmanager
def started(part: ImapPoller) -> Iterator[ImapPoller]:
    asyncio.run(part.start())
    try:
        yield part
    finally:
        asyncio.run(part.stop())


def mid(number: int) -> str:
    return f"imap-{number}@customer.example"


def append(server: Dovecot, user: User, numbers: range | list[int], folder: str = "INBOX") -> None:
    with server.session(user) as imap:
        for number in numbers:
            imap.append(folder, message(number))


def create(server: Dovecot, user: User, *folders: str) -> None:
    with server.session(user) as imap:
        for folder in folders:
            imap.create_folder(folder)


def contents(server: Dovecot, user: User, folder: str = "INBOX") -> dict[str, bool]:
    """Message-ID → seen, for every message in `folder`, as another mail client sees it."""
    with server.session(user) as imap:
        imap.select_folder(folder, readonly=True)
        fetched = imap.fetch(imap.search(["ALL"]), ["FLAGS", "ENVELOPE"])
    return {
        data[b"ENVELOPE"].message_id.decode().strip("<>"): SEEN in data[b"FLAGS"]
        for data in fetched.values()
    }


def stored(store: Store) -> list[str]:
    return sorted(row.message_id or "" for row in store.rows())


def failing_once(message_id: str, *, after_commit: bool = False) -> Callable[..., list[Accepted]]:
    """`intake.accept_all` that crashes once on the batch holding `message_id`, before or
    after committing it."""
    crashed: list[str] = []

    def accept(sessions: sessionmaker[Session], arrivals: Sequence[Arrival]) -> list[Accepted]:
        held = [intake.header_message_id(arrival.raw) for arrival in arrivals]
        crash = message_id in held and not crashed
        if crash and not after_commit:
            crashed.append(message_id)
            raise RuntimeError("the test crashed the process before the commit")
        accepted = intake.accept_all(sessions, arrivals)
        if crash:
            crashed.append(message_id)
            raise RuntimeError("the test crashed the process after the commit")
        return accepted

    return accept


def test_a_backlog_of_300_is_stored_exactly_once_and_marked_seen(
    dovecot: Dovecot, any_store: Store
) -> None:
    store = any_store
    user = dovecot.add_user()
    with dovecot.session(user) as imap:
        imap.multiappend("INBOX", [message(n) for n in range(1, 301)])
    arrivals = Counter()
    part = poller(store, dovecot.mailbox(user), on_accepted=arrivals)
    # A bound against hanging only; how fast a backlog is read is the benchmarks' business
    # (`bench/imap_poller.py`).
    with started(part):
        assert arrivals.wait_for(300, timeout=120)
    assert stored(store) == sorted(mid(n) for n in range(1, 301))
    assert len({row.source_key for row in store.rows()}) == 300
    assert all(row.rcpt_to == [] and row.mail_from is None for row in store.rows())
    assert contents(dovecot, user) == {mid(n): True for n in range(1, 301)}
    # Read again from the cursor: nothing is new.
    assert part.poll_once() == 0
    assert len(store.rows()) == 300


def stop_within(part: ImapPoller, seconds: float) -> None:
    """Stop `part`, failing (not hanging) if that takes longer than `seconds`."""
    stopper = threading.Thread(target=asyncio.run, args=(part.stop(),), daemon=True)
    stopper.start()
    stopper.join(seconds)
    assert not stopper.is_alive(), f"the poller did not stop within {seconds:.0f} s"


@pytest.mark.parametrize(
    ("refresh", "idles"), [(0.2, 3), (HOUR.total_seconds(), 1)], ids=["reissued", "one IDLE"]
)
def test_mail_arriving_while_idling_is_stored_without_waiting_for_a_poll(
    dovecot: Dovecot, store: Store, refresh: float, idles: int
) -> None:
    user = dovecot.add_user()
    append(dovecot, user, [1])
    arrivals = Counter()
    records = Records()
    # Polling once an hour: within the test only IDLE can bring new mail in, whether it is
    # re-issued often or one IDLE waits all along. The timeouts below are far shorter than
    # that hour and only keep a broken poller from hanging the suite; how quickly IDLE
    # brings mail in, and how quickly a poller stops, is measured by the benchmarks
    # (`bench/imap_poller.py`).
    part = poller(
        store,
        dovecot.mailbox(user, queue="Support", poll_interval=HOUR),
        queues=QUEUES,
        on_accepted=arrivals,
        idle_refresh=timedelta(seconds=refresh),
    )
    # The server's "+ idling" (imapclient logs each line of the conversation): from then on
    # it announces new mail by itself. The poller's own "IDLE on INBOX" comes just before it
    # sends IDLE; mail appended in between is announced in the same packet as "+ idling" and
    # waits for the next poll, an hour away here.
    lines = Records()
    with records.capturing(), lines.capturing("imapclient.imaplib"):
        asyncio.run(part.start())
        try:
            assert arrivals.wait_for(1, timeout=30)
            assert records.wait_for(lambda r: r.getMessage().endswith("IDLE on INBOX"), idles, 30)
            assert lines.wait_for(lambda r: "+ idling" in r.getMessage(), idles, 30)
            append(dovecot, user, [2])
            assert arrivals.wait_for(2, timeout=60)
        finally:
            # Stopping interrupts the IDLE (an hour long in one variant), not waits it out.
            stop_within(part, 60)
    assert stored(store) == [mid(1), mid(2)]
    assert all(row.rcpt_to == ["support@acme.example"] for row in store.rows())
    assert contents(dovecot, user) == {mid(1): True, mid(2): True}


def test_while_idling_on_inbox_the_other_folders_are_polled(dovecot: Dovecot, store: Store) -> None:
    user = dovecot.add_user()
    create(dovecot, user, "Escalations")
    arrivals = Counter()
    box = dovecot.mailbox(
        user, folders=("INBOX", "Escalations"), poll_interval=timedelta(milliseconds=300)
    )
    records = Records()
    with records.capturing(), started(poller(store, box, on_accepted=arrivals)):
        assert records.wait_for(lambda r: r.getMessage().endswith("IDLE on INBOX"), 1, 10)
        append(dovecot, user, [1], folder="Escalations")
        assert arrivals.wait_for(1, timeout=30)
    assert [row.source_key.split("/")[1] for row in store.rows()] == ["Escalations"]


def test_stopping_in_a_backlog_flags_exactly_what_was_stored(
    dovecot: Dovecot, store: Store
) -> None:
    user = dovecot.add_user()
    with dovecot.session(user) as imap:
        imap.multiappend("INBOX", [message(n) for n in range(1, 301)])
    arrivals = Counter()
    asked_to_stop = threading.Event()

    def accepted() -> None:
        arrivals()
        if arrivals.count == 30:
            # Held after the 30th message of the first batch until the stop is asked for, so
            # that it lands in the middle of the backlog however fast this machine reads
            # (bounded, not hung).
            asked_to_stop.wait(60)

    part = poller(store, dovecot.mailbox(user), on_accepted=accepted)

    async def stop() -> None:
        stopping = asyncio.ensure_future(part.stop())
        await asyncio.sleep(0)  # one turn of the loop: stop() has flagged the thread
        asked_to_stop.set()
        await stopping

    asyncio.run(part.start())
    assert arrivals.wait_for(30, timeout=60)
    asyncio.run(stop())
    taken = stored(store)
    # The batch in hand when the stop came is stored and flagged whole; nothing after it.
    assert taken == sorted(mid(n) for n in range(1, BATCH_MESSAGES + 1))
    seen = contents(dovecot, user)
    assert sorted(key for key, flagged in seen.items() if flagged) == taken
    assert part.poll_once() == 300 - len(taken)
    assert stored(store) == sorted(mid(n) for n in range(1, 301))


def test_without_idle_new_mail_is_found_by_polling(plain_dovecot: Dovecot, store: Store) -> None:
    user = plain_dovecot.add_user()
    append(plain_dovecot, user, [1])
    arrivals = Counter()
    records = Records()
    box = plain_dovecot.mailbox(user, poll_interval=timedelta(milliseconds=200))
    with records.capturing(), started(poller(store, box, on_accepted=arrivals)):
        assert arrivals.wait_for(1, timeout=10)
        append(plain_dovecot, user, [2])
        assert arrivals.wait_for(2, timeout=30)
    assert records.matching(lambda r: r.getMessage().endswith("no IDLE, polling"))
    assert stored(store) == [mid(1), mid(2)]


# The three messages are one batch, stored in one transaction. After the first read they are
# where they were (crash before the commit), or stored but not yet flagged (crash after the
# commit, before the cursor moved and `after` was applied).
Folders = dict[str, dict[str, bool]]
UNTOUCHED: dict[str, Folders] = {
    "seen": {"INBOX": {mid(1): False, mid(2): False, mid(3): False}},
    "move:Processed": {"INBOX": {mid(1): False, mid(2): False, mid(3): False}, "Processed": {}},
    "delete": {"INBOX": {mid(1): False, mid(2): False, mid(3): False}, "Processed": {}},
}
DONE: dict[str, Folders] = {
    "seen": {"INBOX": {mid(1): True, mid(2): True, mid(3): True}},
    "move:Processed": {"INBOX": {}, "Processed": {mid(1): False, mid(2): False, mid(3): False}},
    "delete": {"INBOX": {}, "Processed": {}},
}


def folders(server: Dovecot, user: User, expected: Folders) -> Folders:
    return {folder: contents(server, user, folder) for folder in expected}


@pytest.mark.parametrize("server", ["dovecot", "plain_dovecot"])
@pytest.mark.parametrize("after", list(DONE))
@pytest.mark.parametrize("crash", ["before commit", "after commit"])
def test_after_touches_only_committed_messages_and_a_crash_loses_and_duplicates_nothing(
    request: pytest.FixtureRequest, store: Store, server: str, after: str, crash: str
) -> None:
    dovecot: Dovecot = request.getfixturevalue(server)
    user = dovecot.add_user()
    create(dovecot, user, "Processed")
    append(dovecot, user, [1, 2, 3])
    accept = failing_once(mid(2), after_commit=crash == "after commit")
    part = poller(store, dovecot.mailbox(user, after=after), accept=accept)

    with pytest.raises(RuntimeError, match="the test crashed"):
        part.poll_once()
    assert stored(store) == ([] if crash == "before commit" else [mid(1), mid(2), mid(3)])
    assert folders(dovecot, user, UNTOUCHED[after]) == UNTOUCHED[after]

    assert part.poll_once() == (3 if crash == "before commit" else 0)
    assert stored(store) == [mid(1), mid(2), mid(3)]
    assert folders(dovecot, user, DONE[after]) == DONE[after]


@pytest.mark.parametrize("after", ["seen", "move:Processed"])
def test_a_crash_between_a_batchs_commit_and_its_flags_stores_nothing_twice(
    dovecot: Dovecot, any_store: Store, after: str
) -> None:
    store = any_store
    user = dovecot.add_user()
    create(dovecot, user, "Processed")
    total = 2 * BATCH_MESSAGES + BATCH_MESSAGES // 2
    with dovecot.session(user) as imap:
        imap.multiappend("INBOX", [message(n) for n in range(1, total + 1)])
    # The second batch is committed, then the process dies before it is flagged or moved.
    second = range(BATCH_MESSAGES + 1, 2 * BATCH_MESSAGES + 1)
    accept = failing_once(mid(second[0]), after_commit=True)
    part = poller(store, dovecot.mailbox(user, after=after), accept=accept)

    with pytest.raises(RuntimeError, match="the test crashed"):
        part.poll_once()
    assert stored(store) == sorted(mid(n) for n in range(1, second[-1] + 1))
    inbox, processed = contents(dovecot, user), contents(dovecot, user, "Processed")
    if after == "seen":
        assert inbox == {mid(n): n < second[0] for n in range(1, total + 1)}
    else:
        assert inbox == {mid(n): False for n in range(second[0], total + 1)}
        assert processed == {mid(n): False for n in range(1, second[0])}

    # Read again: the committed batch is recognised by its keys and only now flagged or moved;
    # the last batch is new.
    assert part.poll_once() == total - second[-1]
    rows = store.rows()
    assert sorted(row.message_id or "" for row in rows) == sorted(
        mid(n) for n in range(1, total + 1)
    )
    assert len({row.source_key for row in rows}) == total
    if after == "seen":
        assert contents(dovecot, user) == {mid(n): True for n in range(1, total + 1)}
    else:
        assert contents(dovecot, user) == {}
        assert contents(dovecot, user, "Processed") == {mid(n): False for n in range(1, total + 1)}


def test_a_restarted_server_is_reconnected_logged_once_and_reading_goes_on(store: Store) -> None:
    with running_dovecot() as server:
        user = server.add_user()
        append(server, user, [1])
        arrivals = Counter()
        records = Records()
        part = poller(store, server.mailbox(user), on_accepted=arrivals)
        with records.capturing(), started(part):
            assert arrivals.wait_for(1, timeout=10)
            server.stop()
            # Several reconnections fail while the server is down.
            assert records.wait_for(lambda r: "still failing" in r.getMessage(), 3, 10)
            assert part.state().error is not None and not part.health().ok
            server.start()
            append(server, user, [2])
            assert arrivals.wait_for(2, timeout=10)
    loud = records.matching(lambda r: r.levelno >= logging.WARNING)
    assert len(loud) == 1 and loud[0].levelno == logging.WARNING
    assert loud[0].getMessage().startswith(f"mailbox {user.name}: session: ")
    recovered = records.matching(lambda r: "reading again" in r.getMessage())
    assert len(recovered) == 1 and recovered[0].levelno == logging.INFO
    assert stored(store) == [mid(1), mid(2)]
    assert part.state().error is None


def test_a_new_uidvalidity_rereads_the_folder_without_duplicates(
    dovecot: Dovecot, any_store: Store
) -> None:
    store = any_store
    user = dovecot.add_user()
    create(dovecot, user, "Tickets")
    append(dovecot, user, [1, 2], folder="Tickets")
    part = poller(store, dovecot.mailbox(user, folders=("Tickets",)))
    assert part.poll_once() == 2
    # Another client recreates the folder: the same two messages come back under a new
    # UIDVALIDITY, with a third one.
    with dovecot.session(user) as imap:
        imap.rename_folder("Tickets", "Tickets-old")
        imap.create_folder("Tickets")
    append(dovecot, user, [1, 2, 3], folder="Tickets")
    records = Records()
    with records.capturing():
        assert part.poll_once() == 1
    assert stored(store) == [mid(1), mid(2), mid(3)]
    assert records.matching(
        lambda r: r.levelno == logging.WARNING and "UIDVALIDITY of folder Tickets" in r.getMessage()
    )
    assert contents(dovecot, user, "Tickets") == {mid(1): True, mid(2): True, mid(3): True}
    with store.sessions() as session:
        cursor = session.query(MailboxCursor).one()
    assert (cursor.folder, cursor.last_uid) == ("Tickets", 3)


def test_a_new_uidvalidity_does_not_duplicate_a_message_without_message_id(
    dovecot: Dovecot, store: Store
) -> None:
    user = dovecot.add_user()
    raw = b"From: a@customer.example\r\nSubject: no id\r\n\r\nHello\r\n"
    with dovecot.session(user) as imap:
        imap.create_folder("Tickets")
        imap.append("Tickets", raw)
    part = poller(store, dovecot.mailbox(user, folders=("Tickets",)))
    assert part.poll_once() == 1
    with dovecot.session(user) as imap:
        imap.rename_folder("Tickets", "Tickets-old")
        imap.create_folder("Tickets")
        imap.append("Tickets", raw)
    assert part.poll_once() == 0
    assert len(store.rows()) == 1


def test_a_folder_with_a_non_ascii_name(dovecot: Dovecot, store: Store) -> None:
    user = dovecot.add_user()
    folder, done = "Suporte/Solicitações", "Processados/Concluídos"
    create(dovecot, user, folder, done)
    append(dovecot, user, [1])
    append(dovecot, user, [2, 3], folder=folder)
    box = dovecot.mailbox(user, folders=("INBOX", folder), after=f"move:{done}")
    assert poller(store, box).poll_once() == 3
    keys = sorted(row.source_key for row in store.rows())
    assert [key.rsplit("/", 2)[0] for key in keys] == [
        f"{user.name}/INBOX",
        f"{user.name}/{folder}",
        f"{user.name}/{folder}",
    ]
    assert contents(dovecot, user, folder) == {}
    assert contents(dovecot, user, done) == {mid(1): False, mid(2): False, mid(3): False}


def test_a_refused_login_is_one_clear_error_and_other_mailboxes_carry_on(
    dovecot: Dovecot, store: Store
) -> None:
    good, bad = dovecot.add_user(), dovecot.add_user()
    append(dovecot, good, [1])
    arrivals = Counter()
    records = Records()
    wrong = "not-the-password-42"
    refused = poller(store, dovecot.mailbox(bad, password=wrong))
    working = poller(store, dovecot.mailbox(good), on_accepted=arrivals)
    with records.capturing(), started(refused), started(working):
        assert arrivals.wait_for(1, timeout=10)
        assert records.wait_for(
            lambda r: r.getMessage().startswith(f"mailbox {bad.name}: still"), 3, 10
        )
        health = refused.state()
        shown = refused.health(), working.health()
    errors = records.matching(lambda r: r.levelno >= logging.WARNING)
    assert [r.levelno for r in errors] == [logging.ERROR]
    assert (
        errors[0]
        .getMessage()
        .startswith(
            f"mailbox {bad.name}: authentication: the server refused user {bad.name} (password): "
            "[AUTHENTICATIONFAILED] Authentication failed.; retrying in "
        )
    )
    assert not records.matching(lambda r: wrong in r.getMessage())
    assert health.error is not None and health.error.startswith("authentication: ")
    assert health.last_success is None and health.failures >= 3
    assert working.state().error is None and working.state().last_success == NOW
    assert not shown[0].ok and shown[0].detail.startswith("authentication: the server refused")
    assert shown[1].ok and shown[1].detail == f"read at {NOW.isoformat(timespec='seconds')}"
    assert stored(store) == [mid(1)]


def test_a_missing_folder_is_named(dovecot: Dovecot, store: Store) -> None:
    user = dovecot.add_user()
    box = dovecot.mailbox(user, after="move:Processed")
    with pytest.raises(ImapError) as raised:
        poller(store, box).poll_once()
    assert raised.value.stage == MISSING_FOLDER
    assert str(raised.value) == (
        f'mailbox {user.name}: missing folder: "Processed" not found on '
        f"127.0.0.1:{dovecot.port} (the server has: INBOX)"
    )


def test_a_quarantined_message_can_be_moved_to_the_quarantine_folder(
    dovecot: Dovecot, store: Store
) -> None:
    user = dovecot.add_user()
    create(dovecot, user, "Quarantine")
    append(dovecot, user, [1, 2])
    box = dovecot.mailbox(user, quarantine_folder="Quarantine")
    assert poller(store, box).poll_once() == 2
    key = next(row.source_key for row in store.rows() if row.message_id == mid(2))
    assert move_to_quarantine(box, key) is True
    assert contents(dovecot, user) == {mid(1): True}
    assert contents(dovecot, user, "Quarantine") == {mid(2): True}
    assert move_to_quarantine(box, key) is False


def test_unseen_mail_that_is_never_stored_makes_the_mailbox_stalled(
    dovecot: Dovecot, store: Store
) -> None:
    user = dovecot.add_user()
    append(dovecot, user, [1])
    clock = FrozenClock(NOW)
    part = poller(store, dovecot.mailbox(user), clock, stall_after=timedelta(hours=1))
    assert part.poll_once() == 1
    # Someone marks the stored message unread again: the server reports unseen mail that is
    # not new to us.
    with dovecot.session(user) as imap:
        imap.select_folder("INBOX")
        imap.remove_flags(imap.search(["ALL"]), [SEEN])
    assert part.poll_once() == 0
    assert (part.state().unseen, part.state().stalled) == (1, False)
    clock.advance(timedelta(minutes=61))
    assert part.poll_once() == 0
    assert part.state().stalled is True
    append(dovecot, user, [2])
    assert part.poll_once() == 1
    assert part.state().stalled is False
