"""Parse the raw bytes; a message nothing can be read from is quarantined."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import object_session

from mailtickets.db import blobs
from mailtickets.db.models import InboundMessage, InboundRaw
from mailtickets.errors import Quarantine
from mailtickets.mail.parse import ParsedMail, parse


def parse_message(intake: InboundMessage) -> ParsedMail:
    session = object_session(intake)
    assert session is not None
    # Read whole in one copy (`blobs.read`), not through `intake.raw`, which costs SQLite two.
    raw = blobs.read(session, InboundRaw.raw, InboundRaw.inbound_id, intake.id) or b""
    # Not `raw.strip()`: that copies the whole message, tens of MB for a large attachment.
    if not raw or raw.isspace():
        raise Quarantine("empty message (0 bytes of content)")
    try:
        return parse(raw)
    except RecursionError as exc:
        raise Quarantine("MIME structure nested too deeply to parse") from exc
    except Exception as exc:  # parsing is deterministic: retrying cannot help
        raise Quarantine(f"cannot parse the message: {type(exc).__name__}: {exc}") from exc


#: Dates before this are a sending client's broken clock (often 1970), not history.
EARLIEST_DATE = datetime(1990, 1, 1, tzinfo=UTC)


def written_at(mail: ParsedMail, now: datetime) -> datetime:
    """When the message says it was written (its Date header), if that can be true: not
    after `now`, not before `EARLIEST_DATE`; otherwise `now`."""
    date = mail.date
    if date is None or date < EARLIEST_DATE:
        return now
    return min(date, now)
