"""An OAuth2 access token, and its cache: `<storage>/oauth2/<key>.json`, mode 0600, owned
like the storage directory.

A restart uses the token it had; a cache written for other credentials (another client,
scope or refresh token: `fingerprint`) is ignored. Errors are logged, never raised: without
a cache the token is simply asked for again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from mailtickets.config.settings import OAuth2Settings

log = logging.getLogger(__name__)

CACHE_DIR = "oauth2"
#: The fraction of a token's lifetime after which a new one is asked for.
RENEW_AT = 0.8


@dataclass(frozen=True)
class AccessToken:
    value: str = field(repr=False)
    obtained_at: datetime
    expires_at: datetime

    @property
    def renew_at(self) -> datetime:
        return self.obtained_at + (self.expires_at - self.obtained_at) * RENEW_AT


class TokenCache:
    """One token's file under `<storage>/oauth2/`; errors are logged, never raised."""

    def __init__(self, storage: Path, key: str, fingerprint: str, *, create: bool) -> None:
        self._storage = storage
        self._fingerprint = fingerprint
        #: Whether saving may create the storage directory (the daemon) or not (a command).
        self._create = create
        self.path = storage / CACHE_DIR / f"{key}.json"

    def load(self) -> tuple[AccessToken, str | None] | None:
        """The cached token and any rotated refresh token, if written for these credentials."""
        try:
            data = json.loads(self.path.read_text())
            if data.get("fingerprint") != self._fingerprint:
                return None
            token = AccessToken(
                data["access_token"],
                datetime.fromisoformat(data["obtained_at"]),
                datetime.fromisoformat(data["expires_at"]),
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("%s: ignoring the OAuth2 token cache: %s", self.path, reason(exc))
            return None
        return token, data.get("refresh_token")

    def save(self, token: AccessToken, rotated: str | None) -> None:
        record = {
            "fingerprint": self._fingerprint,
            "access_token": token.value,
            "obtained_at": token.obtained_at.isoformat(),
            "expires_at": token.expires_at.isoformat(),
        }
        if rotated is not None:
            record["refresh_token"] = rotated
        if not self._create and not self._storage.is_dir():
            return  # a command does not create the daemon's directory; the token stays in memory
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        try:
            self._storage.mkdir(parents=True, exist_ok=True)
            self.path.parent.mkdir(mode=0o700, exist_ok=True)
            _own_like(self.path.parent, self._storage)
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                json.dump(record, out)
            _own_like(temporary, self._storage)
            temporary.replace(self.path)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            log.warning("%s: cannot cache the OAuth2 token: %s", self.path, reason(exc))


def _own_like(path: Path, storage: Path) -> None:
    """Give `path` to the owner of the storage directory when root writes it (`imap test`
    run by root must not leave a file the service's own user cannot read)."""
    if os.geteuid() != 0:
        return
    owner = storage.stat()
    if (owner.st_uid, owner.st_gid) != (0, 0):
        os.chown(path, owner.st_uid, owner.st_gid)


def fingerprint(settings: OAuth2Settings) -> str:
    """Names the credentials a cached token was got with, without revealing them."""
    parts = (
        settings.flow,
        settings.token_url,
        settings.client_id,
        settings.scope or "",
        settings.client_secret or "",
        settings.refresh_token or "",
    )
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def reason(exc: BaseException) -> str:
    """What went wrong, in the operating system's words where it has them."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
