"""Attachment bytes in chunk rows, written in pieces and read a chunk at a time, on SQLite
and PostgreSQL: what `mailtickets.db.files` promises its callers."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import func, select

from mailtickets.db import files
from mailtickets.db.models import Attachment, AttachmentChunk, Message
from tests.support.helpdesk import make_helpdesk
from tests.support.mail import compose


def test_a_file_is_cut_into_chunks_and_read_back_whole(database_url: str, tmp_path: Path) -> None:
    desk = make_helpdesk(database_url, tmp_path)
    ticket_id = desk.deliver(compose()).ticket_id
    content = bytes(range(256)) * (files.CHUNK // 256) * 2 + b"and some more"
    pieces = [content[at : at + 300_000] for at in range(0, len(content), 300_000)]

    def store(name: str, parts: list[bytes], limit: int) -> int:
        with desk.app.sessions.begin() as session:
            message = session.scalars(select(Message).where(Message.ticket_id == ticket_id))
            row = files.store(
                session,
                next(iter(message)).id,
                filename=name,
                content_type="application/octet-stream",
                pieces=iter(parts),
                inline=False,
                content_id=None,
                limit=limit,
            )
            session.flush()
            return row.id

    kept = store("export.bin", pieces, 10 * files.CHUNK)
    empty = store("empty.txt", [b""], 10)
    over = store("huge.bin", pieces, files.CHUNK)
    with desk.app.sessions() as session:
        assert files.read(session, [kept, empty, over]) == {kept: content, empty: b""}
        sizes = [len(chunk) for chunk in files.chunks(session, kept)]
        assert sizes == [files.CHUNK, files.CHUNK, len(b"and some more")]
        assert files.heads(session, [kept], 4) == {kept: bytes(range(4))}
        rows = {row.id: row for row in session.scalars(select(Attachment))}
        assert rows[kept].sha256 == hashlib.sha256(content).hexdigest()
        assert (rows[over].size, rows[over].omitted) == (
            len(content),
            f"larger than {files.CHUNK} bytes",
        )
        assert list(files.chunks(session, over)) == []
        message_id = rows[kept].message_id
    with desk.app.sessions.begin() as session:
        files.discard(session, message_id)
    with desk.app.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AttachmentChunk)) == 0
    desk.app.engine.dispose()
