"""Quarantined intake rows: list, inspect, replay or discard them. Raw bytes are never lost."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailtickets.db.models import InboundMessage, IntakeStatus
from mailtickets.errors import NotFound
from mailtickets.mail.parse import header
from mailtickets.mail.parse import parse as parse_mail
from mailtickets.outcomes import Outcome

#: Headers shown by `quarantine show` without --raw; a message made of headers only is cut.
MAX_HEADERS = 20000


@dataclass(frozen=True)
class Entry:
    id: int
    received_at: datetime
    source: str
    mail_from: str | None
    subject: str
    reason: str
    attempts: int


def _entry(row: InboundMessage) -> Entry:
    try:
        subject = header(parse_mail(row.raw).message, "Subject") or ""
    except Exception:  # noqa: BLE001  (the reason it is here may be that it cannot be parsed)
        subject = "(unreadable)"
    return Entry(
        row.id,
        row.received_at,
        row.source,
        row.mail_from,
        subject[:200],
        row.last_error or "",
        row.attempts,
    )


def entries(session: Session) -> list[Entry]:
    rows = session.scalars(
        select(InboundMessage)
        .where(InboundMessage.status == IntakeStatus.QUARANTINED)
        .order_by(InboundMessage.id)
    )
    return [_entry(row) for row in rows]


def view(entry: Entry) -> dict[str, Any]:
    """A quarantined message for `quarantine list --json` (field names are a contract)."""
    return asdict(entry) | {"received_at": entry.received_at.isoformat()}


def detail(row: InboundMessage, raw: bool = False) -> dict[str, Any]:
    """One quarantined message for `quarantine show`: why, its envelope, its headers (and its
    whole text, with `raw`)."""
    text = row.raw.decode("utf-8", "replace").replace("\r\n", "\n")
    return view(_entry(row)) | {
        "message_id": row.message_id,
        "rcpt_to": row.rcpt_to,
        "headers": text.partition("\n\n")[0][:MAX_HEADERS],
        "raw": text if raw else None,
    }


def get(session: Session, intake_id: int) -> InboundMessage:
    row = session.get(InboundMessage, intake_id)
    if row is None or row.status is not IntakeStatus.QUARANTINED:
        raise NotFound(f"no quarantined message #{intake_id}")
    return row


def retry(session: Session, intake_id: int, now: datetime) -> None:
    """Put the message back in line: the worker processes it again from the first attempt,
    marked as released so the check that held it (spam) lets it through."""
    row = get(session, intake_id)
    row.status, row.attempts, row.next_attempt_at = IntakeStatus.PENDING, 0, now
    row.outcome, row.processed_at = Outcome.RELEASED, None


def retry_all(session: Session, now: datetime) -> list[int]:
    ids = [e.id for e in entries(session)]
    for intake_id in ids:
        retry(session, intake_id, now)
    return ids


def discard(session: Session, intake_id: int, now: datetime) -> None:
    """Give up on the message; its row and raw bytes stay for the record."""
    row = get(session, intake_id)
    row.status, row.outcome, row.processed_at = IntakeStatus.DISCARDED, Outcome.DISCARDED, now
