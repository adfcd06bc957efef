"""Read where mail comes in and goes out: `[[smtp]]` listeners, `[[imap]]` mailboxes, `[outgoing]`.

Their passwords and tokens come from the environment variables their `*_env` keys name.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from mailtickets.config import reader as r
from mailtickets.config.settings import (
    ImapMailboxSettings,
    OutgoingSettings,
    SmtpListenerSettings,
    StorageSettings,
)

_ENV_NAME = r.nonempty


def _secret(table: r.Table, key: str, env: Mapping[str, str]) -> str | None:
    """The secret named by the variable in `key`; a named but unset variable is a problem."""
    name = table.optional(key, _ENV_NAME)
    if name is None:
        return None
    if not env.get(name):
        table.problems.add(table.label, key, f"environment variable {name} is not set")
        return None
    return env[name]


def read_smtp(t: r.Table) -> SmtpListenerSettings:
    """One `[[smtp]]` listener; TLS keys must come together and back the TLS they require."""
    settings = SmtpListenerSettings(
        host=t.get("host", r.nonempty, "127.0.0.1"),
        port=t.get("port", r.integer(1, 65535), 2525),
        protocol=t.get("protocol", r.choice("smtp", "lmtp"), "smtp"),
        tls_cert=_path(t.optional("tls_cert", r.nonempty)),
        tls_key=_path(t.optional("tls_key", r.nonempty)),
        require_tls=t.get("require_tls", r.boolean, False),
        implicit_tls=t.get("implicit_tls", r.boolean, False),
        max_message_size=t.get("max_message_size", r.size, 25 * 1024 * 1024),
        max_recipients=t.get("max_recipients", r.integer(1, 10000), 100),
        max_connections=t.get("max_connections", r.integer(1, 100000), 100),
        idle_timeout=t.get("idle_timeout", r.positive_duration, r.duration("5m")),
    )
    if (settings.tls_cert is None) != (settings.tls_key is None):
        t.problems.add(t.label, "tls_cert", "tls_cert and tls_key must be given together")
    if (settings.require_tls or settings.implicit_tls) and settings.tls_cert is None:
        t.problems.add(t.label, "tls_cert", "is required by require_tls or implicit_tls")
    t.finish()
    return settings


def read_imap(t: r.Table, env: Mapping[str, str]) -> ImapMailboxSettings:
    """One `[[imap]]` mailbox; it needs a password or an OAuth2 token variable."""
    tls = t.get("tls", r.choice("implicit", "starttls", "none"), "implicit")
    settings = ImapMailboxSettings(
        name=t.get("name", r.nonempty, "", required=True),
        host=t.get("host", r.nonempty, "", required=True),
        port=t.get("port", r.integer(1, 65535), 993 if tls == "implicit" else 143),
        tls=tls,
        username=t.get("username", r.nonempty, "", required=True),
        password=_secret(t, "password_env", env),
        oauth2_token=_secret(t, "oauth2_token_env", env),
        folders=t.get("folders", r.list_of(r.nonempty), ("INBOX",)),
        queue=t.optional("queue", r.address),
        poll_interval=t.get("poll_interval", r.positive_duration, r.duration("60s")),
        after=t.get("after", _after, "seen"),
        quarantine_folder=t.optional("quarantine_folder", r.nonempty),
    )
    if not t.has("password_env") and not t.has("oauth2_token_env"):
        t.problems.add(t.label, "password_env", "password_env or oauth2_token_env is required")
    t.finish()
    return settings


def _after(value: object) -> str:
    text = r.string(value)
    if text in ("seen", "delete") or (text.startswith("move:") and len(text) > 5):
        return text
    raise ValueError('must be "seen", "delete" or "move:<folder>"')


def read_outgoing(t: r.Table, storage: StorageSettings, env: Mapping[str, str]) -> OutgoingSettings:
    """The `[outgoing]` relay; its maildir defaults to `outbox` under the storage directory."""
    tls = t.get("tls", r.choice("starttls", "implicit", "none"), "starttls")
    settings = OutgoingSettings(
        host=t.optional("host", r.nonempty),
        port=t.get("port", r.integer(1, 65535), 465 if tls == "implicit" else 25),
        tls=tls,
        username=t.optional("username", r.nonempty),
        password=_secret(t, "password_env", env),
        maildir=Path(t.get("maildir", r.nonempty, str(storage.dir / "outbox"))),
        redirect_all_to=t.optional("redirect_all_to", r.address),
        retry_delay=t.get("retry_delay", r.positive_duration, r.duration("1m")),
        give_up_after=t.get("give_up_after", r.duration, r.duration("2d")),
        timeout=t.get("timeout", r.positive_duration, r.duration("30s")),
        max_attachments_size=t.get("max_attachments_size", r.size, r.size("10MB")),
    )
    t.finish()
    return settings


def _path(value: str | None) -> Path | None:
    return Path(value) if value is not None else None
