"""Parse the raw bytes; a message nothing can be read from is quarantined."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import object_session

from mailtickets.db import blobs
from mailtickets.db.models import InboundMessage, InboundRaw
from mailtickets.errors import Quarantine
from mailtickets.mail.parse import ParsedMail, parse
from mailtickets.mail.spans import Source


def parse_message(intake: InboundMessage) -> ParsedMail:
    session = object_session(intake)
    assert session is not None
    # Read by range where the database allows (`blobs.reader`), not through `intake.raw`:
    # a large attachment is decoded from the stored message as it is stored, never held.
    raw = blobs.reader(session, InboundRaw.raw, InboundRaw.inbound_id, intake.id)
    if raw is None or _blank(raw):
        raise Quarantine("empty message (0 bytes of content)")
    try:
        return parse(raw)
    except RecursionError as exc:
        raise Quarantine("MIME structure nested too deeply to parse") from exc
    except Exception as exc:  # parsing is deterministic: retrying cannot help
        raise Quarantine(f"cannot parse the message: {type(exc).__name__}: {exc}") from exc


def _blank(raw: Source) -> bool:
    """Whether the message is nothing but white space, read a MiB at a time (a copy of the
    whole by `strip()` would be tens of MB for a large attachment)."""
    piece = 1024 * 1024
    return all(raw.read(at, at + piece).isspace() for at in range(0, raw.size, piece))


#: Dates before this are a sending client's broken clock (often 1970), not history.
EARLIEST_DATE = datetime(1990, 1, 1, tzinfo=UTC)


def written_at(mail: ParsedMail, now: datetime) -> datetime:
    """When the message says it was written (its Date header), if that can be true: not
    after `now`, not before `EARLIEST_DATE`; otherwise `now`."""
    date = mail.date
    if date is None or date < EARLIEST_DATE:
        return now
    return min(date, now)
