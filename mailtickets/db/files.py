"""The bytes of attachments: the one place that writes, reads and drops them.

A file's bytes live in the database beside its `attachment` row, cut into `attachment_chunk`
rows of at most CHUNK bytes. They are written as they are decoded from the message
(`store` takes an iterable of pieces) and read back one chunk at a time (`chunks`), so no
step ever holds a whole file: a 25 MB attachment costs a chunk of memory, not 25 MB. Being
rows, they are committed with the message that names them, erased with it (the chunks
cascade with their attachment) and never outlive or precede it across a crash.
A kept file has at least one chunk (an empty file one empty chunk); a file over the size
cap has none and an `omitted` reason.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from mailtickets.db.models import Attachment, AttachmentChunk

#: The most bytes one chunk row holds: what is in memory at once while a file moves.
CHUNK = 1024 * 1024


def store(
    session: Session,
    message_id: int,
    *,
    filename: str,
    content_type: str,
    pieces: Iterable[bytes],
    inline: bool,
    content_id: str | None,
    limit: int,
) -> Attachment:
    """A file of message `message_id`, written from `pieces` as they come; over `limit`
    bytes only its description is kept (its size and hash counted all the same)."""
    row = Attachment(
        message_id=message_id,
        filename=filename,
        content_type=content_type,
        size=0,
        sha256="",
        inline=inline,
        content_id=content_id,
    )
    session.add(row)
    session.flush()
    digest = hashlib.sha256()
    size = seq = 0
    pending = bytearray()
    for piece in pieces:
        digest.update(piece)
        size += len(piece)
        if size > limit:
            if seq:
                session.execute(
                    delete(AttachmentChunk).where(AttachmentChunk.attachment_id == row.id)
                )
                seq = 0
            pending.clear()
            continue
        pending += piece
        while len(pending) >= CHUNK:
            _write(session, row.id, seq, bytes(pending[:CHUNK]))
            del pending[:CHUNK]
            seq += 1
    if size <= limit and (pending or not seq):
        _write(session, row.id, seq, bytes(pending))
    row.size, row.sha256 = size, digest.hexdigest()
    row.omitted = f"larger than {limit} bytes" if size > limit else None
    return row


def _write(session: Session, attachment_id: int, seq: int, data: bytes) -> None:
    session.execute(insert(AttachmentChunk).values(attachment_id=attachment_id, seq=seq, data=data))


def chunks(session: Session, attachment_id: int) -> Iterator[bytes]:
    """The bytes of a kept file, a chunk at a time; nothing for a file not kept or gone."""
    seqs = session.scalars(
        select(AttachmentChunk.seq)
        .where(AttachmentChunk.attachment_id == attachment_id)
        .order_by(AttachmentChunk.seq)
    ).all()
    for seq in seqs:
        # One row per query: a result would buffer every chunk of the file.
        data = session.scalar(
            select(AttachmentChunk.data).where(
                AttachmentChunk.attachment_id == attachment_id, AttachmentChunk.seq == seq
            )
        )
        if data is not None:
            yield bytes(data)


def kept(session: Session, attachment_ids: Iterable[int]) -> set[int]:
    """Which of `attachment_ids` have their bytes (kept, and not erased since)."""
    wanted = list(dict.fromkeys(attachment_ids))
    if not wanted:
        return set()
    return set(
        session.scalars(
            select(AttachmentChunk.attachment_id).where(
                AttachmentChunk.attachment_id.in_(wanted), AttachmentChunk.seq == 0
            )
        )
    )


def read(session: Session, attachment_ids: Iterable[int]) -> dict[int, bytes]:
    """The whole bytes of each kept file among `attachment_ids`; files not kept are absent.
    For an operator's command on one file; mail and exports use `chunks`."""
    return {i: b"".join(chunks(session, i)) for i in kept(session, attachment_ids)}


def heads(session: Session, attachment_ids: Iterable[int], length: int) -> dict[int, bytes]:
    """The first `length` bytes of each kept file among `attachment_ids` (to tell its type)."""
    wanted = list(dict.fromkeys(attachment_ids))
    if not wanted:
        return {}
    head = func.substr(AttachmentChunk.data, 1, length)
    rows = session.execute(
        select(AttachmentChunk.attachment_id, head).where(
            AttachmentChunk.attachment_id.in_(wanted), AttachmentChunk.seq == 0
        )
    )
    return {row[0]: bytes(row[1]) for row in rows}


def discard(session: Session, message_id: int) -> None:
    """Drop the files of message `message_id`, descriptions and bytes."""
    ids = select(Attachment.id).where(Attachment.message_id == message_id)
    # Deleted here too, not only by the cascade: SQLite honours it only with foreign keys on.
    session.execute(delete(AttachmentChunk).where(AttachmentChunk.attachment_id.in_(ids)))
    session.execute(delete(Attachment).where(Attachment.message_id == message_id))
