"""Accept a raw message: store its bytes and envelope durably, once.

Every source (SMTP, LMTP, pipe, IMAP, import) calls `accept`; when it returns, the message is
committed and the source may acknowledge it (250, IMAP flag). The same delivery accepted
twice — same source key, or same Message-ID and same bytes from anywhere — is one row.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.parser import BytesHeaderParser
from email.policy import compat32

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from mailtickets.db import blobs
from mailtickets.db.models import InboundMessage, InboundRaw, IntakeStatus
from mailtickets.errors import DatabaseUnavailable
from mailtickets.mail.addresses import MAX_ADDRESS
from mailtickets.mail.parse import MAX_MESSAGE_ID, safe_text

log = logging.getLogger(__name__)

SOURCES = ("smtp", "lmtp", "pipe", "imap", "import")


@dataclass(frozen=True)
class Envelope:
    """Where a message came from and to whom it was delivered."""

    source: str
    mail_from: str | None = None  # "" for the null return path (bounces), None if unknown
    rcpt_to: tuple[str, ...] = ()
    #: What identifies the delivery within its source (IMAP: mailbox/folder/UIDVALIDITY/UID);
    #: None means the content hash does.
    source_key: str | None = None
    #: Imported as history: processed as of its Date, mailing nobody (`InboundMessage.history`).
    history: bool = False


@dataclass(frozen=True)
class Accepted:
    id: int
    duplicate: bool


def header_message_id(raw: bytes) -> str | None:
    """The Message-ID without angle brackets, read from the header block only."""
    try:
        value = BytesHeaderParser(policy=compat32).parsebytes(_header_block(raw)).get("Message-ID")
    except Exception:  # noqa: BLE001  (a header we cannot read is simply absent)
        return None
    text = safe_text(str(value or "").strip().strip("<>").strip())
    return text[:MAX_MESSAGE_ID] or None


@dataclass(frozen=True)
class Arrival:
    """One message to store: its bytes, envelope, time of arrival and trace header."""

    raw: bytes
    envelope: Envelope
    now: datetime
    #: Our Received header: stored before the bytes but not hashed.
    trace: bytes = b""


def _header_block(raw: bytes) -> bytes:
    """`raw` up to its first empty line: the parser would otherwise copy the whole body, line
    by line, several times over (hundreds of MB for a 25 MB attachment)."""
    ends = [end for end in (raw.find(b"\n\n"), raw.find(b"\n\r\n")) if end >= 0]
    return raw[: min(ends) + 1] if ends else raw


def accept(
    sessions: sessionmaker[Session],
    raw: bytes,
    envelope: Envelope,
    now: datetime,
    trace: bytes = b"",
) -> Accepted:
    """Store `trace + raw` with its envelope and commit; raise `DatabaseUnavailable` if not.

    `trace` (our Received header) is stored but not hashed, so a retried delivery of the same
    bytes is recognised although its trace differs.
    """
    return accept_all(sessions, [Arrival(raw, envelope, now, trace)])[0]


def accept_all(sessions: sessionmaker[Session], arrivals: Sequence[Arrival]) -> list[Accepted]:
    """Store every arrival in one transaction and commit: one fsync for all of them.

    The same message twice in `arrivals` is stored once. When a concurrent delivery of one of
    them wins a race for its key, each is stored again on its own.
    """
    keyed = [_Keyed.of(arrival) for arrival in arrivals]
    try:
        with sessions.begin() as session:
            accepted = _store_all(session, keyed)
    except IntegrityError:
        if len(keyed) > 1:
            return [accept_all(sessions, [arrival])[0] for arrival in arrivals]
        # A concurrent delivery of the same message won the race; it is stored.
        with sessions.begin() as session:
            (existing,) = _existing(session, keyed)
        if existing is None:
            raise
        return [Accepted(existing, duplicate=True)]
    except OperationalError as exc:
        raise DatabaseUnavailable(f"cannot store the message: {exc.orig}") from exc
    for item, result in zip(keyed, accepted, strict=True):
        if not result.duplicate:
            log.info(
                "accepted intake #%s from %s, message-id %s",
                result.id,
                item.arrival.envelope.source,
                item.message_id,
            )
    return accepted


@dataclass(frozen=True)
class _Keyed:
    """An arrival with what identifies it: source key, Message-ID and content hash."""

    arrival: Arrival
    key: str
    message_id: str | None
    sha256: str

    @property
    def delivery(self) -> tuple[str, str]:
        """What makes it the same delivery: its source and source key."""
        return (self.arrival.envelope.source, self.key)

    @property
    def content(self) -> tuple[str, str | None]:
        """What makes it the same message from anywhere: its bytes and Message-ID."""
        return (self.sha256, self.message_id)

    @property
    def pieces(self) -> list[bytes]:
        """What is stored: our trace header, then the bytes as received."""
        return [self.arrival.trace, self.arrival.raw]

    @classmethod
    def of(cls, arrival: Arrival) -> _Keyed:
        if arrival.envelope.source not in SOURCES:
            raise ValueError(f"unknown intake source {arrival.envelope.source!r}")
        sha256 = hashlib.sha256(arrival.raw).hexdigest()
        key = arrival.envelope.source_key or sha256
        return cls(arrival, key, header_message_id(arrival.raw), sha256)


def _store_all(session: Session, keyed: Sequence[_Keyed]) -> list[Accepted]:
    """Store what is new in `keyed`: one look-up for the whole batch, one flush for its rows.

    The transaction holds the database's write lock (on SQLite, from its BEGIN IMMEDIATE) and
    the worker and the other sources wait for it: per message it costs only its own rows and
    bytes, not a round of queries.
    """
    found = _existing(session, keyed)
    # The same message twice in `keyed` is stored once: a later one is a duplicate of the first.
    deliveries: dict[tuple[str, str], int] = {}
    contents: dict[tuple[str, str | None], int] = {}
    earlier: list[int | None] = []
    rows: dict[int, InboundMessage] = {}
    for number, item in enumerate(keyed):
        first = deliveries.get(item.delivery, contents.get(item.content))
        earlier.append(first)
        if found[number] is None and first is None:
            deliveries[item.delivery] = contents[item.content] = number
            rows[number] = _row(session, item)
    session.add_all(rows.values())
    session.flush()
    for number, row in rows.items():
        # The bytes go in after the row: on SQLite a piece at a time, never copied whole.
        blobs.fill(session, InboundRaw.__tablename__, "raw", row.id, keyed[number].pieces)
    accepted: list[Accepted] = []
    for number, existing in enumerate(found):
        if number in rows:
            accepted.append(Accepted(rows[number].id, duplicate=False))
        elif existing is not None:
            accepted.append(Accepted(existing, duplicate=True))
        else:
            first = earlier[number]
            assert first is not None  # neither stored before nor new: the same as an earlier one
            accepted.append(Accepted(rows[first].id, duplicate=True))
    return accepted


def _row(session: Session, item: _Keyed) -> InboundMessage:
    arrival, envelope = item.arrival, item.arrival.envelope
    return InboundMessage(
        source=envelope.source,
        source_key=item.key,
        message_id=item.message_id,
        sha256=item.sha256,
        body=InboundRaw(raw=blobs.placeholder(session, item.pieces)),
        # "" is the null return path, None unknown; whatever a client sent must fit.
        mail_from=None
        if envelope.mail_from is None
        else safe_text(envelope.mail_from)[:MAX_ADDRESS],
        rcpt_to=[safe_text(r)[:MAX_ADDRESS] for r in envelope.rcpt_to],
        received_at=arrival.now,
        status=IntakeStatus.PENDING,
        attempts=0,
        next_attempt_at=arrival.now,
        history=envelope.history,
    )


class GroupCommit:
    """`accept` for many threads at once: messages that arrive together share a transaction.

    A thread that finds no commit under way commits everything waiting, its own message
    included, while the messages arriving meanwhile wait for the next commit. Each caller
    still returns only once its own row is committed, so a 250 keeps meaning "stored"; under
    load the fsync per commit is shared instead of queued for.
    """

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._changed = threading.Condition()
        self._waiting: list[_Waiting] = []
        self._committing = False

    def accept(self, raw: bytes, envelope: Envelope, now: datetime, trace: bytes = b"") -> Accepted:
        """What `accept` does, committed together with whatever else arrived meanwhile."""
        return self.accept_all([Arrival(raw, envelope, now, trace)])[0]

    def accept_all(self, arrivals: Sequence[Arrival]) -> list[Accepted]:
        """What `accept_all` does: `arrivals` share one commit, with whatever else is waiting.

        A source holding many messages (an IMAP batch) waits for the commit under way, if
        any, like a single SMTP message does, instead of racing it for the database.
        """
        mine = _Waiting(list(arrivals))
        with self._changed:
            self._waiting.append(mine)
            while self._committing and mine.outcome is None:
                self._changed.wait()
            if mine.outcome is None:
                self._committing = True
                batch, self._waiting = self._waiting, []
        if mine.outcome is None:
            self._commit(batch)
        assert mine.outcome is not None
        if isinstance(mine.outcome, list):
            return mine.outcome
        if isinstance(mine.outcome, DatabaseUnavailable):
            raise DatabaseUnavailable(str(mine.outcome)) from mine.outcome
        raise RuntimeError(f"cannot store the message: {mine.outcome}") from mine.outcome

    def _commit(self, batch: list[_Waiting]) -> None:
        outcomes: list[Accepted] | Exception | None = None
        try:
            outcomes = accept_all(self._sessions, [a for w in batch for a in w.arrivals])
        except Exception as exc:  # noqa: BLE001  (each message of the batch is answered 451)
            outcomes = exc
        finally:
            # Also when interrupted: nobody may be left waiting for a commit that never ends.
            if outcomes is None:
                outcomes = RuntimeError("the commit was interrupted")
            with self._changed:
                first = 0
                for waiting in batch:
                    end = first + len(waiting.arrivals)
                    waiting.outcome = (
                        outcomes[first:end] if isinstance(outcomes, list) else outcomes
                    )
                    first = end
                self._committing = False
                self._changed.notify_all()


@dataclass
class _Waiting:
    """One caller's arrivals and, once their commit is over, what became of them."""

    arrivals: list[Arrival]
    outcome: list[Accepted] | Exception | None = None


def _existing(session: Session, keyed: Sequence[_Keyed]) -> list[int | None]:
    """The stored row of each of `keyed`, if any: a query or two for all of them."""
    keys: dict[str, set[str]] = {}
    for item in keyed:
        keys.setdefault(item.arrival.envelope.source, set()).add(item.key)
    deliveries: dict[tuple[str, str], int] = {}
    for source, source_keys in keys.items():
        # One source at a time, so that the unique index on (source, source_key) is used.
        same_delivery = select(InboundMessage.id, InboundMessage.source_key).where(
            InboundMessage.source == source, InboundMessage.source_key.in_(source_keys)
        )
        for row_id, key in session.execute(same_delivery):
            deliveries[(source, key)] = row_id
    # The same bytes under another key (another source, a new IMAP UIDVALIDITY) are the
    # same message; without a Message-ID the bytes alone must say so.
    contents: dict[tuple[str, str | None], int] = {}
    unknown = {item.sha256 for item in keyed if item.delivery not in deliveries}
    if unknown:
        same_bytes = select(InboundMessage.id, InboundMessage.sha256, InboundMessage.message_id)
        for row_id, sha256, message_id in session.execute(
            same_bytes.where(InboundMessage.sha256.in_(unknown)).order_by(InboundMessage.id)
        ):
            contents.setdefault((sha256, message_id), row_id)
    return [deliveries.get(item.delivery, contents.get(item.content)) for item in keyed]
