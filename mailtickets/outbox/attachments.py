"""Which files an outgoing mail carries, and how it names the others.

A ticket's files are numbered in the order they came (`ticket_files`): the number an agent
gives `#files N` and an operator `mailtickets tickets attachment TICKET N`. A mail carries
files, in that order, while they fit `[outgoing] max_attachments_size` (counted encoded) and
MAX_FILES; it lists the rest with their size and how to get them. A file is named by its
attachment id on the outbox row (`attachments`) and its bytes are read by the sender only
when it composes; images are shown in place only when their first bytes say they are one.
"""

from __future__ import annotations

import shlex
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailtickets.db import files
from mailtickets.db.models import Attachment, Message, Ticket
from mailtickets.mail.attachments import encoded_size, outgoing_name, shows_in_place

#: Files in one mail at most: mail clients and relays cope badly with more parts.
MAX_FILES = 100
#: Files a mail names one by one beyond those it carries; the others are only counted, so a
#: message of thousands of parts makes a notice of a few KB, not of megabytes.
MAX_LISTED = 20
#: What `shows_in_place` needs to read of a file.
_HEAD = 16


@dataclass(frozen=True)
class TicketFile:
    number: int
    row: Attachment

    @property
    def kept(self) -> bool:
        return self.row.omitted is None


@dataclass(frozen=True)
class Choice:
    """The files of one mail: carried, left out for the cap, and never kept at all."""

    carried: tuple[TicketFile, ...] = ()
    #: Attachment ids of the carried images shown in the HTML (`cid:`).
    in_place: frozenset[int] = frozenset()
    left: tuple[TicketFile, ...] = ()
    not_kept: tuple[TicketFile, ...] = ()
    cap: int = 0

    def attachments(self) -> list[dict[str, Any]] | None:
        """What the outbox row names: each file by id, with how it is shown."""
        if not self.carried:
            return None
        return [
            {"id": f.row.id, "inline": f.row.id in self.in_place, "cid": content_id(f.row)}
            for f in self.carried
        ]

    def context(self, ticket_id: int) -> dict[str, Any]:
        """The `files` a template is given: numbers, names, sizes, and how to get the rest;
        at most MAX_LISTED of those not carried are named, `unlisted` counts the others."""
        left = self.left[:MAX_LISTED]
        not_kept = self.not_kept[: MAX_LISTED - len(left)]
        return {
            "carried": [
                _entry(f, ticket_id)
                | {"inline": f.row.id in self.in_place, "cid": content_id(f.row)}
                for f in self.carried
            ],
            "left": [
                _entry(f, ticket_id) | {"mailable": encoded_size(f.row.size) <= self.cap}
                for f in left
            ],
            "not_kept": [_entry(f, ticket_id) for f in not_kept],
            "unlisted": len(self.left) + len(self.not_kept) - len(left) - len(not_kept),
            "cap": self.cap,
        }


#: A mail about files that carries none and lists none.
NO_FILES = Choice()


def content_id(row: Attachment) -> str:
    """The Content-ID a file has in our mail: ours, never the sender's (which may be
    anything), the same in every mail that carries the file."""
    return f"{row.sha256[:16]}.{row.id}@mailtickets"


def ticket_files(session: Session, ticket: Ticket) -> list[TicketFile]:
    """Every file of the ticket's messages (notes' too), numbered from 1 in arrival order."""
    rows = session.scalars(
        select(Attachment)
        .join(Message, Attachment.message_id == Message.id)
        .where(Message.ticket_id == ticket.id)
        .order_by(Message.id, Attachment.id)
    )
    return [TicketFile(number, row) for number, row in enumerate(rows, start=1)]


def of_message(session: Session, ticket: Ticket, rows: Iterable[Attachment]) -> list[TicketFile]:
    """The ticket's numbered files that are among `rows` (one message's files)."""
    wanted = {row.id for row in rows}
    if not wanted:
        return []
    return [f for f in ticket_files(session, ticket) if f.row.id in wanted]


def choose(
    session: Session,
    candidates: Sequence[TicketFile],
    cap: int,
    *,
    show: Collection[int] | None = None,
) -> Choice:
    """The files of `candidates` one mail carries under `cap`, in order, images to show in
    place first; `show` limits those to the given attachment ids (None: every inline image)."""
    kept = [f for f in candidates if f.kept]
    wanted = [f.row.id for f in kept if f.row.inline and (show is None or f.row.id in show)]
    types = {f.row.id: f.row.content_type for f in kept}
    heads = files.heads(session, wanted, _HEAD)
    in_place = {i for i, head in heads.items() if shows_in_place(types[i], head)}
    # Images shown in the text come first: without them the text points at nothing.
    ordered = sorted(kept, key=lambda f: f.row.id not in in_place)
    carried: list[TicketFile] = []
    left: list[TicketFile] = []
    room = cap
    for candidate in ordered:
        cost = encoded_size(candidate.row.size)
        if cost <= room and len(carried) < MAX_FILES:
            carried.append(candidate)
            room -= cost
        else:
            left.append(candidate)
    return Choice(
        carried=tuple(sorted(carried, key=lambda f: f.number)),
        in_place=frozenset(in_place & {f.row.id for f in carried}),
        left=tuple(sorted(left, key=lambda f: f.number)),
        not_kept=tuple(f for f in candidates if not f.kept),
        cap=cap,
    )


def pack(candidates: Sequence[TicketFile], cap: int) -> tuple[list[Choice], list[TicketFile]]:
    """`candidates` spread over as few mails as `cap` allows, in order; and the files that
    no mail can carry, each larger than the cap alone."""
    mails: list[list[TicketFile]] = []
    too_large: list[TicketFile] = []
    room = 0
    for candidate in (f for f in candidates if f.kept):
        cost = encoded_size(candidate.row.size)
        if cost > cap:
            too_large.append(candidate)
            continue
        if not mails or cost > room or len(mails[-1]) >= MAX_FILES:
            mails.append([])
            room = cap
        mails[-1].append(candidate)
        room -= cost
    return [Choice(carried=tuple(m), cap=cap) for m in mails], too_large


def _entry(file: TicketFile, ticket_id: int) -> dict[str, Any]:
    name = outgoing_name(file.row.filename, file.row.content_type, file.number)
    command = f"mailtickets tickets attachment {ticket_id} {file.number} --output "
    return {
        "number": file.number,
        "name": name,
        "size": file.row.size,
        "command": command + shlex.quote(name),
    }
