"""The bytes of attachments: the one place that writes, reads and drops them.

Today a file's bytes live in its `attachment` row (`content`), written once when its message
is stored and read when a mail carries the file out (the outbox sender; `heads` tells an
image from its first bytes before), when an operator saves it (`tickets attachment`) or
when a person's data is exported. Every one of those goes through `store`, `read`, `heads`
and `discard` here and nowhere else, so that moving the bytes to content-addressed files
under `[storage] dir` (keyed by the `sha256` each row already keeps) is a change to this
module alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from mailtickets.db.models import Attachment


def store(
    session: Session,
    message_id: int,
    *,
    filename: str,
    content_type: str,
    content: bytes,
    inline: bool,
    content_id: str | None,
    limit: int,
) -> Attachment:
    """A file of message `message_id`; over `limit` bytes only its description is kept."""
    too_big = len(content) > limit
    row = Attachment(
        message_id=message_id,
        filename=filename,
        content_type=content_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        inline=inline,
        content_id=content_id,
        content=None if too_big else content,
        omitted=f"larger than {limit} bytes" if too_big else None,
    )
    session.add(row)
    return row


def read(session: Session, attachment_ids: Iterable[int]) -> dict[int, bytes]:
    """The bytes of each kept file among `attachment_ids`; files not kept or gone are absent."""
    wanted = list(dict.fromkeys(attachment_ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(Attachment.id, Attachment.content).where(
            Attachment.id.in_(wanted), Attachment.content.is_not(None)
        )
    )
    return {row.id: bytes(row.content) for row in rows}


def heads(session: Session, attachment_ids: Iterable[int], length: int) -> dict[int, bytes]:
    """The first `length` bytes of each kept file among `attachment_ids` (to tell its type)."""
    wanted = list(dict.fromkeys(attachment_ids))
    if not wanted:
        return {}
    head = func.substr(Attachment.content, 1, length)
    rows = session.execute(
        select(Attachment.id, head).where(
            Attachment.id.in_(wanted), Attachment.content.is_not(None)
        )
    )
    return {row[0]: bytes(row[1]) for row in rows}


def discard(session: Session, message_id: int) -> None:
    """Drop the files of message `message_id`, descriptions and bytes."""
    session.execute(delete(Attachment).where(Attachment.message_id == message_id))
