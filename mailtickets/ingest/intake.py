"""Accept a raw message: store its bytes and envelope durably, once.

Every source (SMTP, LMTP, pipe, IMAP, import) calls `accept`; when it returns, the message is
committed and the source may acknowledge it (250, IMAP flag). The same delivery accepted
twice — same source key, or same Message-ID and same bytes from anywhere — is one row.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from email.parser import BytesHeaderParser
from email.policy import compat32

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from mailtickets.db.models import InboundMessage, IntakeStatus
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


@dataclass(frozen=True)
class Accepted:
    id: int
    duplicate: bool


def header_message_id(raw: bytes) -> str | None:
    """The Message-ID without angle brackets, read from the header block only."""
    try:
        value = BytesHeaderParser(policy=compat32).parsebytes(raw).get("Message-ID")
    except Exception:  # noqa: BLE001  (a header we cannot read is simply absent)
        return None
    text = safe_text(str(value or "").strip().strip("<>").strip())
    return text[:MAX_MESSAGE_ID] or None


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
    if envelope.source not in SOURCES:
        raise ValueError(f"unknown intake source {envelope.source!r}")
    sha256 = hashlib.sha256(raw).hexdigest()
    message_id = header_message_id(raw)
    key = envelope.source_key or sha256
    try:
        with sessions.begin() as session:
            existing = _existing(session, envelope.source, key, message_id, sha256)
            if existing is not None:
                return Accepted(existing, duplicate=True)
            row = InboundMessage(
                source=envelope.source,
                source_key=key,
                message_id=message_id,
                sha256=sha256,
                raw=trace + raw,
                # "" is the null return path, None unknown; whatever a client sent must fit.
                mail_from=None
                if envelope.mail_from is None
                else safe_text(envelope.mail_from)[:MAX_ADDRESS],
                rcpt_to=[safe_text(r)[:MAX_ADDRESS] for r in envelope.rcpt_to],
                received_at=now,
                status=IntakeStatus.PENDING,
                attempts=0,
                next_attempt_at=now,
            )
            session.add(row)
            session.flush()
            accepted = Accepted(row.id, duplicate=False)
    except IntegrityError:
        # A concurrent delivery of the same message won the race; it is stored.
        with sessions.begin() as session:
            existing = _existing(session, envelope.source, key, message_id, sha256)
        if existing is None:
            raise
        return Accepted(existing, duplicate=True)
    except OperationalError as exc:
        raise DatabaseUnavailable(f"cannot store the message: {exc.orig}") from exc
    log.info("accepted intake #%s from %s, message-id %s", accepted.id, envelope.source, message_id)
    return accepted


def _existing(
    session: Session, source: str, key: str, message_id: str | None, sha256: str
) -> int | None:
    same_delivery = select(InboundMessage.id).where(
        InboundMessage.source == source, InboundMessage.source_key == key
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
