"""Whose files: every command works on `[storage] dir` as the user who owns it.

The daemon runs as a service user (`mailtickets`) that owns the storage directory, and must
be able to read and write every file in it: the SQLite database and its -wal/-shm, the
generated key, the instance lock, the outbox maildir. An operator's command run as root
therefore switches to that owner (its uid, gid and groups) once the configuration and its
secrets are read, before it opens or creates anything, so no file it leaves behind can lock
the service out. Switching covers every file, including those SQLite or the maildir make on
their own; changing the owner after each creation would have to know them all. A command
run by any other user who is not the owner is refused: it could only leave files the
service cannot use.
"""

from __future__ import annotations

import logging
import os
import pwd
from dataclasses import dataclass
from pathlib import Path

from mailtickets.errors import StorageError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Owner:
    uid: int
    gid: int
    name: str
    home: str | None


def owner_of(directory: Path) -> tuple[Owner, Path]:
    """The owner of `directory`, or of its nearest existing parent, and which one that was."""
    existing = directory.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    status = existing.stat()
    try:
        entry = pwd.getpwuid(status.st_uid)
    except KeyError:  # a uid without an account: its number is all there is
        return Owner(status.st_uid, status.st_gid, str(status.st_uid), None), existing
    return Owner(entry.pw_uid, entry.pw_gid, entry.pw_name, entry.pw_dir), existing


def act_as_owner(directory: Path) -> None:
    """Become the owner of `directory` when running as root; refuse any other stranger.

    A directory that does not exist yet counts as its nearest existing parent's when root
    runs: root setting up a checkout owned by a developer creates the files as that
    developer. Anyone else may go on and make it, becoming its owner.
    """
    owner, found = owner_of(directory)
    me = os.geteuid()
    if me == owner.uid:
        return
    if me != 0:
        if found != directory.absolute():
            return  # not made yet: whoever makes it will own it and its files
        user = _name(me)
        if owner.uid == 0:
            advice = f"run this command as root, or give the directory to {user} (chown)"
        else:
            advice = (
                f"run this command as {owner.name} (runuser -u {owner.name} -- mailtickets …) "
                "or as root"
            )
        raise StorageError(f"{found} belongs to {owner.name}, not to {user}: {advice}")
    if owner.home is None:
        os.setgroups([])
    else:
        os.initgroups(owner.name, owner.gid)
        # Programs that keep files under $HOME (matplotlib's cache) must not aim at root's.
        os.environ["HOME"] = owner.home
    os.setgid(owner.gid)
    os.setuid(owner.uid)
    log.debug("acting as %s, the owner of %s", owner.name, found)


def _name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def make_storage(directory: Path) -> None:
    """Create the storage directory, private to its user (0750, as tmpfiles.d makes it)."""
    directory.mkdir(mode=0o750, parents=True, exist_ok=True)
