"""Read one IMAP folder from its UID cursor: fetch, store, advance the cursor, then flag.

What is new is decided by the cursor (UIDVALIDITY, last UID stored) kept in
`mailbox_cursor`, never by \\Seen: a message someone else read is still ours to take. Bodies
are fetched with `BODY.PEEK[]`, which leaves \\Seen alone, in batches bounded by count and by
size. For each batch the order is: one FETCH of every body, one transaction storing them all
(`intake.accept_all`: one commit, one fsync), advance the cursor, and only then one command
applying `after` (\\Seen, delete or move) to the whole batch. A failure anywhere leaves the
batch untouched in the folder; the next read fetches it again and the intake recognises, by
mailbox, folder, UIDVALIDITY and UID, whatever it had already committed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from imapclient import SEEN, IMAPClient
from sqlalchemy import Select, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from mailtickets.clock import Clock
from mailtickets.config.settings import ImapMailboxSettings
from mailtickets.db.models import MailboxCursor
from mailtickets.errors import DatabaseUnavailable
from mailtickets.ingest.intake import Accepted, Arrival, Envelope

log = logging.getLogger(__name__)

#: `intake.accept_all`'s shape: (sessions, arrivals) → the stored rows, committed together.
IntakeFn = Callable[[sessionmaker[Session], Sequence[Arrival]], list[Accepted]]

#: A batch is fetched by one command and stored by one transaction, which holds the database's
#: write lock (on SQLite) while its rows and bytes are written: these bound that stretch, in
#: which SMTP deliveries and the worker wait, and the memory a batch takes. A message larger
#: than `BATCH_BYTES` is a batch of its own.
BATCH_MESSAGES = 50
BATCH_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Cursor:
    uidvalidity: int
    last_uid: int


@dataclass(frozen=True)
class FolderRead:
    """What one read of a folder found: new rows stored, unseen messages left, the cursor."""

    stored: int
    unseen: int
    cursor: Cursor


def load_cursor(sessions: sessionmaker[Session], mailbox: str, folder: str) -> Cursor | None:
    try:
        with sessions() as session:
            row = session.scalar(_cursor_query(mailbox, folder))
            return None if row is None else Cursor(row.uidvalidity, row.last_uid)
    except OperationalError as exc:
        raise DatabaseUnavailable(
            f"cannot read the cursor of {mailbox}/{folder}: {exc.orig}"
        ) from exc


def save_cursor(
    sessions: sessionmaker[Session], mailbox: str, folder: str, cursor: Cursor, now: datetime
) -> None:
    try:
        with sessions.begin() as session:
            row = session.scalar(_cursor_query(mailbox, folder))
            if row is None:
                row = MailboxCursor(mailbox=mailbox, folder=folder)
                session.add(row)
            row.uidvalidity = cursor.uidvalidity
            row.last_uid = cursor.last_uid
            row.updated_at = now
    except OperationalError as exc:
        raise DatabaseUnavailable(
            f"cannot save the cursor of {mailbox}/{folder}: {exc.orig}"
        ) from exc


def _cursor_query(mailbox: str, folder: str) -> Select[MailboxCursor]:
    return select(MailboxCursor).where(
        MailboxCursor.mailbox == mailbox, MailboxCursor.folder == folder
    )


class After:
    """What `after` does to a stored message: "seen", "delete" or "move:<folder>"."""

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self.target = spec[5:] if spec.startswith("move:") else None

    @property
    def removes(self) -> bool:
        """Whether stored messages leave the folder (so any still there can be tidied)."""
        return self.spec == "delete" or self.target is not None

    def apply(self, client: IMAPClient, uids: Sequence[int]) -> None:
        if not uids:
            return
        if self.target is not None:
            move(client, uids, self.target)
        elif self.spec == "delete":
            delete(client, uids)
        else:
            client.add_flags(uids, [SEEN], silent=True)


def move(client: IMAPClient, uids: Sequence[int], folder: str) -> None:
    """UID MOVE when offered (RFC 6851), else COPY and delete."""
    if client.has_capability("MOVE"):
        client.move(uids, folder)
    else:
        client.copy(uids, folder)
        delete(client, uids)


def delete(client: IMAPClient, uids: Sequence[int]) -> None:
    client.delete_messages(uids, silent=True)
    if client.has_capability("UIDPLUS"):
        client.uid_expunge(uids)
    else:
        # Without UIDPLUS, EXPUNGE removes every \Deleted message of the folder, also those
        # another client flagged: a mailbox read by mailtickets is expected to be its own.
        client.expunge()


class FolderReader:
    """Reads the folders of one mailbox into the intake; shared by every read of a session."""

    def __init__(
        self,
        box: ImapMailboxSettings,
        sessions: sessionmaker[Session],
        clock: Clock,
        accept: IntakeFn,
        *,
        rcpt_to: tuple[str, ...],
        on_accepted: Callable[[], None],
        stopping: threading.Event,
        batch_messages: int = BATCH_MESSAGES,
        batch_bytes: int = BATCH_BYTES,
    ) -> None:
        self._box = box
        self._sessions = sessions
        self._clock = clock
        self._accept = accept
        self._rcpt_to = rcpt_to
        self._on_accepted = on_accepted
        self._stopping = stopping
        self._batch_messages = batch_messages
        self._batch_bytes = batch_bytes
        self._after = After(box.after)

    def read(self, client: IMAPClient, folder: str) -> FolderRead:
        """Store every message of `folder` past its cursor; leave `folder` selected."""
        selected = client.select_folder(folder)
        cursor = self._cursor(folder, int(selected[b"UIDVALIDITY"]))
        self._tidy(client, folder, cursor)
        stored = 0
        for batch in self._batches(client, new_uids(client, cursor.last_uid)):
            if self._stopping.is_set():
                break
            cursor, count = self._read_batch(client, folder, cursor, batch)
            stored += count
        unseen = len(client.search(["UNSEEN"]))
        return FolderRead(stored, unseen, cursor)

    def _cursor(self, folder: str, uidvalidity: int) -> Cursor:
        box = self._box.name
        cursor = load_cursor(self._sessions, box, folder)
        if cursor is not None and cursor.uidvalidity == uidvalidity:
            return cursor
        if cursor is None:
            log.info("mailbox %s: reading folder %s for the first time", box, folder)
        else:
            # The server renumbered the folder; stored messages come again under new UIDs and
            # the intake recognises them by Message-ID and content.
            log.warning(
                "mailbox %s: UIDVALIDITY of folder %s changed from %s to %s; reading it again",
                box,
                folder,
                cursor.uidvalidity,
                uidvalidity,
            )
        fresh = Cursor(uidvalidity, 0)
        save_cursor(self._sessions, box, folder, fresh, self._clock.now())
        return fresh

    def _tidy(self, client: IMAPClient, folder: str, cursor: Cursor) -> None:
        # A message at or below the cursor is stored; if it is still here, its delete or move
        # was cut short (connection lost after the cursor moved), so finish it now.
        if not self._after.removes or cursor.last_uid == 0:
            return
        leftovers = [
            u for u in client.search(["UID", f"1:{cursor.last_uid}"]) if u <= cursor.last_uid
        ]
        if leftovers:
            log.info(
                "mailbox %s: applying after=%s to %s stored message(s) left in %s",
                self._box.name,
                self._after.spec,
                len(leftovers),
                folder,
            )
            self._after.apply(client, leftovers)

    def _batches(self, client: IMAPClient, uids: list[int]) -> Iterator[list[int]]:
        """Groups of UIDs of at most `batch_messages` messages and about `batch_bytes`."""
        for start in range(0, len(uids), self._batch_messages):
            chunk = uids[start : start + self._batch_messages]
            sizes = client.fetch(chunk, ["RFC822.SIZE"])
            batch: list[int] = []
            total = 0
            for uid in chunk:
                size = int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0))
                if batch and total + size > self._batch_bytes:
                    yield batch
                    batch, total = [], 0
                batch.append(uid)
                total += size
            if batch:
                yield batch

    def _read_batch(
        self, client: IMAPClient, folder: str, cursor: Cursor, batch: list[int]
    ) -> tuple[Cursor, int]:
        """Fetch `batch` in one command, store it in one transaction, then move on."""
        fetched = client.fetch(batch, ["BODY.PEEK[]"])
        now = self._clock.now()
        bodies: dict[int, bytes] = {}
        for uid in batch:
            # A UID expunged since the search comes back without a body: the cursor passes it.
            body = fetched.get(uid, {}).get(b"BODY[]")
            if body is not None:
                bodies[uid] = bytes(body)
        del fetched  # the batch is held once, in `bodies`, while it is stored
        arrivals = [
            self._arrival(folder, cursor.uidvalidity, uid, raw, now) for uid, raw in bodies.items()
        ]
        accepted = self._accept(self._sessions, arrivals) if arrivals else []
        new = 0
        for uid, result in zip(bodies, accepted, strict=True):
            log.debug(
                "mailbox %s: %s/%s stored as intake #%s", self._box.name, folder, uid, result.id
            )
            if not result.duplicate:
                new += 1
                self._on_accepted()
        cursor = Cursor(cursor.uidvalidity, batch[-1])
        save_cursor(self._sessions, self._box.name, folder, cursor, self._clock.now())
        # Stored now or before (a batch read again after a crash between the commit and
        # here): either way `after` is due, and only now that the rows are committed.
        self._after.apply(client, list(bodies))
        log.info(
            "mailbox %s: %s: stored %s new message(s), up to UID %s",
            self._box.name,
            folder,
            new,
            cursor.last_uid,
        )
        return cursor, new

    def _arrival(
        self, folder: str, uidvalidity: int, uid: int, raw: bytes, now: datetime
    ) -> Arrival:
        # The key says which delivery this is, so that reading it again stores nothing twice.
        key = f"{self._box.name}/{folder}/{uidvalidity}/{uid}"
        envelope = Envelope(source="imap", rcpt_to=self._rcpt_to, source_key=key)
        return Arrival(raw, envelope, now)


def new_uids(client: IMAPClient, last_uid: int) -> list[int]:
    """UIDs above `last_uid`, ascending."""
    # "n:*" always matches the highest UID, even one below n (RFC 3501 6.4.8): filter it.
    found = client.search(["UID", f"{last_uid + 1}:*"])
    return sorted(int(uid) for uid in found if int(uid) > last_uid)
