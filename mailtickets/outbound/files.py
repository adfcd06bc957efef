"""The files of an outgoing mail, added as it is sent: read then, never kept in the outbox.

An outbox row names its files by attachment id (`OutboundMessage.attachments`); its kept
bytes (`raw`) are the rendered message without them. Each attempt reads the files through
`mailtickets.db.files`, a chunk at a time as they are encoded while the message is written to
the relay (`compose.Composed`), so every retry sends the same bytes. A file erased since the
mail was queued is left out, never replaced; one erased while it is being sent makes the
attempt fail for a later one to leave it out.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailtickets.db import files
from mailtickets.db.models import Attachment
from mailtickets.errors import TemporaryFailure
from mailtickets.mail.attachments import outgoing_name, outgoing_type
from mailtickets.outbound import compose

log = logging.getLogger(__name__)


def with_files(
    sessions: sessionmaker[Session], outbound_id: int, raw: bytes, named: Sequence[dict[str, Any]]
) -> bytes | compose.Composed:
    """`raw` (outbox row `outbound_id`) with the files it names, read a chunk at a time as
    the message is written."""
    if not named:
        return raw
    ids = [int(entry["id"]) for entry in named]
    with sessions() as session:
        rows = {r.id: r for r in session.scalars(select(Attachment).where(Attachment.id.in_(ids)))}
        kept = files.kept(session, ids)
        found = []
        for position, entry in enumerate(named, start=1):
            attachment_id = int(entry["id"])
            row = rows.get(attachment_id)
            if row is None or attachment_id not in kept:
                log.warning(
                    "outbox #%s: file #%s is gone, sent without it", outbound_id, entry["id"]
                )
                continue
            found.append(
                compose.OutgoingFile(
                    name=outgoing_name(row.filename, row.content_type, position),
                    content_type=outgoing_type(row.content_type),
                    content=_Stored(sessions, attachment_id, row.size),
                    inline=bool(entry.get("inline")),
                    cid=str(entry["cid"]),
                )
            )
    return compose.with_files(raw, found)


@dataclass(frozen=True)
class _Stored:
    """A kept file's bytes, read from the database a chunk at a time in a session of their
    own each time they are iterated (as the message is written to the relay)."""

    sessions: sessionmaker[Session]
    attachment_id: int
    size: int

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[bytes]:
        read = 0
        with self.sessions() as session:
            for chunk in files.chunks(session, self.attachment_id):
                read += len(chunk)
                yield chunk
        if read != self.size:
            # Erased (or cut) since the mail was composed: this attempt cannot send it whole.
            raise TemporaryFailure(f"file #{self.attachment_id} changed while it was sent")
