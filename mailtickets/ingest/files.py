"""Read messages from files for `mailtickets import`: .eml files, mbox files and maildirs."""

from __future__ import annotations

import mailbox
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from mailtickets.errors import MailticketsError


@dataclass(frozen=True)
class Item:
    label: str
    read: Callable[[], bytes]


def is_maildir(path: Path) -> bool:
    return path.is_dir() and all((path / sub).is_dir() for sub in ("cur", "new"))


def is_mbox(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(5) == b"From "


def items(paths: list[Path]) -> Iterator[Item]:
    """Every message under `paths`, each read only when asked (mboxes can be large)."""
    for path in paths:
        if not path.exists():
            raise MailticketsError(f"{path}: no such file or directory")
        if is_maildir(path):
            yield from _mailbox(path, mailbox.Maildir(path, create=False))
        elif path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                yield from items([child])
        elif is_mbox(path):
            yield from _mailbox(path, mailbox.mbox(path, create=False))
        else:
            yield Item(str(path), path.read_bytes)


def _mailbox(path: Path, box: mailbox.Mailbox[mailbox.Message]) -> Iterator[Item]:
    try:
        # keys(), not the box itself: iterating a Mailbox parses every message.
        for key in box.keys():  # noqa: SIM118
            yield Item(f"{path}:{key}", partial(box.get_bytes, key))
    finally:
        box.close()
