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
            accepted = [_store(session, item) for item in keyed]
    except IntegrityError:
        if len(keyed) > 1:
            return [accept_all(sessions, [arrival])[0] for arrival in arrivals]
        # A concurrent delivery of the same message won the race; it is stored.
        (item,) = keyed
        with sessions.begin() as session:
            existing = _existing(session, item)
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

    @classmethod
    def of(cls, arrival: Arrival) -> _Keyed:
        if arrival.envelope.source not in SOURCES:
            raise ValueError(f"unknown intake source {arrival.envelope.source!r}")
        sha256 = hashlib.sha256(arrival.raw).hexdigest()
        key = arrival.envelope.source_key or sha256
        return cls(arrival, key, header_message_id(arrival.raw), sha256)


def _store(session: Session, item: _Keyed) -> Accepted:
    # Rows added earlier in the same transaction are flushed by this query, so a message
    # twice in one batch is found here too.
    existing = _existing(session, item)
    if existing is not None:
        return Accepted(existing, duplicate=True)
    arrival, envelope = item.arrival, item.arrival.envelope
    row = InboundMessage(
        source=envelope.source,
        source_key=item.key,
        message_id=item.message_id,
        sha256=item.sha256,
        body=InboundRaw(raw=blobs.placeholder(session, [arrival.trace, arrival.raw])),
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
    session.add(row)
    session.flush()
    # The bytes go in after the row: on SQLite a piece at a time, never copied whole.
    blobs.fill(session, InboundRaw.__tablename__, "raw", row.id, [arrival.trace, arrival.raw])
    return Accepted(row.id, duplicate=False)


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
        mine = _Waiting(Arrival(raw, envelope, now, trace))
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
        if isinstance(mine.outcome, Accepted):
            return mine.outcome
        if isinstance(mine.outcome, DatabaseUnavailable):
            raise DatabaseUnavailable(str(mine.outcome)) from mine.outcome
        raise RuntimeError(f"cannot store the message: {mine.outcome}") from mine.outcome

    def _commit(self, batch: list[_Waiting]) -> None:
        outcomes: list[Accepted | Exception] = []
        try:
            outcomes = list(accept_all(self._sessions, [w.arrival for w in batch]))
        except Exception as exc:  # noqa: BLE001  (each message of the batch is answered 451)
            outcomes = [exc] * len(batch)
        finally:
            # Also when interrupted: nobody may be left waiting for a commit that never ends.
            interrupted = RuntimeError("the commit was interrupted")
            with self._changed:
                for number, waiting in enumerate(batch):
                    waiting.outcome = outcomes[number] if outcomes else interrupted
                self._committing = False
                self._changed.notify_all()


@dataclass
class _Waiting:
    arrival: Arrival
    outcome: Accepted | Exception | None = None


def _existing(session: Session, item: _Keyed) -> int | None:
    message_id, sha256 = item.message_id, item.sha256
    same_delivery = select(InboundMessage.id).where(
        InboundMessage.source == item.arrival.envelope.source, InboundMessage.source_key == item.key
    )
    found = session.scalar(same_delivery)
    if found is None:
        # The same bytes under another key (another source, a new IMAP UIDVALIDITY) are the
        # same message; without a Message-ID the bytes alone must say so.
        same_id = (
            InboundMessage.message_id == message_id
            if message_id is not None
            else InboundMessage.message_id.is_(None)
        )
        same_message = select(InboundMessage.id).where(InboundMessage.sha256 == sha256, same_id)
        found = session.scalar(same_message.limit(1))
    return found
