"""The files of an outgoing mail, added as it is sent: read then, never kept in the outbox.

An outbox row names its files by attachment id (`OutboundMessage.attachments`); its kept
bytes (`raw`) are the rendered message without them. Each attempt reads the files through
`mailtickets.db.files`, a chunk at a time as they are encoded, and adds them the same way
(`compose.with_files`), so every retry sends the same bytes. A file erased since the mail
was queued is left out, never replaced.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailtickets.db import files
from mailtickets.db.models import Attachment
from mailtickets.mail.attachments import outgoing_name, outgoing_type
from mailtickets.outbound import compose

log = logging.getLogger(__name__)


def with_files(
    sessions: sessionmaker[Session], outbound_id: int, raw: bytes, named: Sequence[dict[str, Any]]
) -> bytes | bytearray:
    """`raw` (outbox row `outbound_id`) with the files it names, read now a chunk at a time."""
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
                    content=files.chunks(session, attachment_id),
                    inline=bool(entry.get("inline")),
                    cid=str(entry["cid"]),
                )
            )
        # Composed while the session is open: the chunks are read as they are encoded.
        return compose.with_files(raw, found)
