"""Raw mail kept as files: the outbox maildir, where outgoing mail goes when there is no relay.

Privacy erasure and retention both remove files from it; they choose which.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

log = logging.getLogger(__name__)

_FOLDERS = ("new", "cur", "tmp")


def maildir_files(maildir: Path) -> Iterator[Path]:
    """Every message file in `maildir` (none when it does not exist)."""
    for folder in _FOLDERS:
        directory = maildir / folder
        if directory.is_dir():
            yield from (p for p in directory.iterdir() if p.is_file())


def remove_files(maildir: Path, doomed: Callable[[Path], bool]) -> int:
    """Delete the files of `maildir` for which `doomed` is true; return how many."""
    removed = 0
    for path in maildir_files(maildir):
        try:
            if doomed(path):
                path.unlink()
                removed += 1
        except FileNotFoundError:  # delivered or moved by someone else meanwhile
            continue
    if removed:
        log.info("%s: removed %s message file(s)", maildir, removed)
    return removed
