"""Read where mail comes in and goes out: `[[smtp]]` listeners, `[[imap]]` mailboxes, `[outgoing]`.

Their passwords and OAuth2 secrets come from the environment variables their `*_env` keys name.
A mailbox or the relay logs in with a password, or with `auth = "oauth2"` and an `oauth2`
sub-table saying where and how to get access tokens.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from mailtickets.config import reader as r
from mailtickets.config.settings import (
    ImapMailboxSettings,
    OAuth2Settings,
    OutgoingSettings,
    SmtpListenerSettings,
    StorageSettings,
)

_ENV_NAME = r.nonempty
# Plain HTTP would carry the client secret and refresh token in clear, except on this host.
_LOOPBACK = ("127.0.0.1", "::1", "localhost")


def _secret(table: r.Table, key: str, env: Mapping[str, str]) -> str | None:
    """The secret named by the variable in `key`; a named but unset variable is a problem."""
    name = table.optional(key, _ENV_NAME)
    if name is None:
        return None
    if not env.get(name):
        table.problems.add(table.label, key, f"environment variable {name} is not set")
        return None
    return env[name]


def _line_length(value: object) -> int:
    # RFC 5321's 1000 octets is the least a server must take; beyond a few MiB one line is
    # only a way to make us hold the whole message in one buffer.
    length = r.size(value)
    if not 1000 <= length <= 16 * 1024 * 1024:
        raise ValueError("must be a size from 1000 bytes to 16MiB")
    return length


def _per_client(t: r.Table, protocol: str, max_connections: int) -> int:
    # LMTP is spoken only by the MTA in front (RFC 2033), one client whose concurrency (20 in
    # Postfix) is the listener's whole load: a per-client share would only defer its mail.
    if protocol == "lmtp":
        t.unused(
            "max_connections_per_client",
            'is not used with protocol = "lmtp": its one client is the MTA in front',
        )
        return max_connections
    return t.get("max_connections_per_client", r.integer(1, 100000), 10)


def read_smtp(t: r.Table, base: Path | None) -> SmtpListenerSettings:
    """One `[[smtp]]` listener; TLS keys must come together and back the TLS they require."""
    protocol = t.get("protocol", r.choice("smtp", "lmtp"), "smtp")
    max_connections = t.get("max_connections", r.integer(1, 100000), 100)
    settings = SmtpListenerSettings(
        host=t.get("host", r.nonempty, "127.0.0.1"),
        port=t.get("port", r.integer(1, 65535), 2525),
        protocol=protocol,
        tls_cert=t.optional("tls_cert", r.path(base)),
        tls_key=t.optional("tls_key", r.path(base)),
        require_tls=t.get("require_tls", r.boolean, False),
        implicit_tls=t.get("implicit_tls", r.boolean, False),
        max_message_size=t.get("max_message_size", r.size, 25 * 1024 * 1024),
        max_recipients=t.get("max_recipients", r.integer(1, 10000), 100),
        max_connections=max_connections,
        idle_timeout=t.get("idle_timeout", r.positive_duration, r.duration("5m")),
        max_connections_per_client=_per_client(t, protocol, max_connections),
        greeting_timeout=t.get("greeting_timeout", r.positive_duration, r.duration("30s")),
        max_line_length=t.get("max_line_length", _line_length, 64 * 1024),
    )
    if (settings.tls_cert is None) != (settings.tls_key is None):
        t.problems.add(t.label, "tls_cert", "tls_cert and tls_key must be given together")
    if (settings.require_tls or settings.implicit_tls) and settings.tls_cert is None:
        t.problems.add(t.label, "tls_cert", "is required by require_tls or implicit_tls")
    t.finish()
    return settings


def read_imap(t: r.Table, env: Mapping[str, str]) -> ImapMailboxSettings:
    """One `[[imap]]` mailbox; it logs in with a password or with OAuth2 tokens."""
    tls = t.get("tls", r.choice("implicit", "starttls", "none"), "implicit")
    auth = t.get("auth", r.choice("password", "oauth2"), "password")
    settings = ImapMailboxSettings(
        name=t.get("name", r.nonempty, "", required=True),
        host=t.get("host", r.nonempty, "", required=True),
        port=t.get("port", r.integer(1, 65535), 993 if tls == "implicit" else 143),
        tls=tls,
        username=t.get("username", r.nonempty, "", required=True),
        password=_password(t, auth, env, required=True),
        oauth2=_oauth2(t, auth, env),
        folders=t.get("folders", r.list_of(r.nonempty), ("INBOX",)),
        queue=t.optional("queue", r.address),
        poll_interval=t.get("poll_interval", r.positive_duration, r.duration("60s")),
        after=t.get("after", _after, "seen"),
        quarantine_folder=t.optional("quarantine_folder", r.nonempty),
    )
    t.unused(
        "oauth2_token_env",
        'is no longer read: a fixed token expires within the hour; set auth = "oauth2" and '
        "an oauth2 table naming the token endpoint (README: OAuth2)",
    )
    t.finish()
    return settings


def _password(t: r.Table, auth: str, env: Mapping[str, str], *, required: bool) -> str | None:
    """The password, read with `auth = "password"` only."""
    if auth == "oauth2":
        t.unused("password_env", 'is not used with auth = "oauth2"')
        return None
    if required and not t.has("password_env"):
        t.problems.add(t.label, "password_env", 'is required (or auth = "oauth2")')
    return _secret(t, "password_env", env)


def _oauth2(t: r.Table, auth: str, env: Mapping[str, str]) -> OAuth2Settings | None:
    """The `oauth2` sub-table of `t`, read with `auth = "oauth2"` only."""
    if auth != "oauth2":
        t.unused("oauth2", 'is only read with auth = "oauth2"')
        return None
    o = t.table("oauth2")
    flow = o.get("flow", r.choice("refresh_token", "client_credentials"), "refresh_token")
    settings = OAuth2Settings(
        flow=flow,
        token_url=o.get("token_url", _token_url, "", required=True),
        client_id=o.get("client_id", r.nonempty, "", required=True),
        client_secret=_secret(o, "client_secret_env", env),
        refresh_token=_secret(o, "refresh_token_env", env),
        scope=o.optional("scope", r.nonempty),
        mechanism=o.get("mechanism", r.choice("xoauth2", "oauthbearer"), "xoauth2"),
    )
    needed = "refresh_token_env" if flow == "refresh_token" else "client_secret_env"
    if not o.has(needed):
        o.problems.add(o.label, needed, f'is required by flow = "{flow}"')
    if flow == "client_credentials" and o.has("refresh_token_env"):
        o.problems.add(o.label, "refresh_token_env", 'is not used by flow = "client_credentials"')
    o.finish()
    return settings


def _token_url(value: object) -> str:
    text = r.nonempty(value)
    parts = urlsplit(text)
    if parts.scheme == "https" and parts.hostname:
        return text
    if parts.scheme == "http" and parts.hostname in _LOOPBACK:
        return text
    raise ValueError("must be an https:// URL (http:// only on this host)")


def _after(value: object) -> str:
    text = r.string(value)
    if text in ("seen", "delete") or (text.startswith("move:") and len(text) > 5):
        return text
    raise ValueError('must be "seen", "delete" or "move:<folder>"')


def read_outgoing(
    t: r.Table, storage: StorageSettings, env: Mapping[str, str], base: Path | None
) -> OutgoingSettings:
    """The `[outgoing]` relay; its maildir defaults to `outbox` under the storage directory."""
    tls = t.get("tls", r.choice("starttls", "implicit", "none"), "starttls")
    auth = t.get("auth", r.choice("password", "oauth2"), "password")
    settings = OutgoingSettings(
        host=t.optional("host", r.nonempty),
        port=t.get("port", r.integer(1, 65535), 465 if tls == "implicit" else 25),
        tls=tls,
        username=t.optional("username", r.nonempty),
        password=_password(t, auth, env, required=False),
        oauth2=_oauth2(t, auth, env),
        maildir=t.get("maildir", r.path(base), storage.dir / "outbox"),
        redirect_all_to=t.optional("redirect_all_to", r.address),
        retry_delay=t.get("retry_delay", r.positive_duration, r.duration("1m")),
        give_up_after=t.get("give_up_after", r.duration, r.duration("2d")),
        timeout=t.get("timeout", r.positive_duration, r.duration("30s")),
        max_attachments_size=t.get("max_attachments_size", r.size, r.size("10MB")),
        max_recipients=t.get("max_recipients", r.integer(1, 10000), 50),
        connections=t.get("connections", r.integer(1, 50), 4),
    )
    if settings.oauth2 is not None and settings.host is None:
        t.problems.add(t.label, "auth", 'auth = "oauth2" needs a relay: host is not set')
    if settings.oauth2 is not None and settings.username is None:
        t.problems.add(t.label, "username", 'is required by auth = "oauth2"')
    t.finish()
    return settings
