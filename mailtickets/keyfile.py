"""The HMAC key for reply tokens when no secret variable is set: generated once, kept 0600."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from mailtickets.errors import StorageError

KEY_FILE = "secret.key"


def load_or_create_key(directory: Path) -> bytes:
    """The key stored in `directory`, created on first use so tokens survive restarts.

    The directory itself is never made here but by `db upgrade` (`storage.make_storage`):
    a command that only reads leaves no directory behind.
    """
    path = directory / KEY_FILE
    try:
        # O_EXCL: two processes starting at once must not each write a different key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    except FileNotFoundError:
        raise StorageError(
            f"{directory}: the storage directory does not exist; "
            "run `mailtickets db upgrade` to create it"
        ) from None
    with os.fdopen(fd, "wb") as out:
        out.write(secrets.token_hex(32).encode())
        out.flush()
        os.fsync(out.fileno())
    return path.read_bytes().strip()
