"""Reach one `[[imap]]` mailbox: resolve, connect, TLS, log in, check folders.

Every failure is an `ImapError` (in `mailtickets.errors`) naming the mailbox and the stage
that failed (DNS, TCP connect, TLS, OAuth2 token, authentication, missing folder, or the
session after login), so that the poller's log line and `mailtickets imap test` both say where
to look. TLS is never downgraded: when `tls` asks for it and the handshake or STARTTLS fails,
nothing else is tried. A mailbox with `auth = "oauth2"` logs in by XOAUTH2 or OAUTHBEARER
with the token of its `TokenSource`; a token the server refuses is renewed and tried once more.
"""

from __future__ import annotations

import imaplib
import logging
import re
import socket
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from imapclient import IMAPClient
from imapclient.exceptions import CapabilityError, LoginError

from mailtickets.config.settings import ImapMailboxSettings
from mailtickets.errors import ImapError, TokenError
from mailtickets.oauth2 import TokenSource
from mailtickets.oauth2_token import AccessToken

log = logging.getLogger(__name__)

DNS = "DNS"
TCP = "TCP connect"
TLS = "TLS"
TOKEN = "OAuth2 token"  # noqa: S105  (a stage's name, not a secret)
AUTHENTICATION = "authentication"
MISSING_FOLDER = "missing folder"
SESSION = "session"

#: Makes the context used to verify the server; tests pass one trusting their own CA.
SslContextFactory = Callable[[], ssl.SSLContext]

DEFAULT_TIMEOUT = 60.0

_QUOTED_BYTES = re.compile(r"^b(['\"])(.*)\1$", re.DOTALL)


@dataclass(frozen=True)
class FolderStatus:
    name: str
    messages: int
    unseen: int


def default_context() -> ssl.SSLContext:
    return ssl.create_default_context(ssl.Purpose.SERVER_AUTH)


def connect(
    box: ImapMailboxSettings,
    *,
    tokens: TokenSource | None = None,
    ssl_context: SslContextFactory | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> IMAPClient:
    """A logged-in client for `box`, every socket operation bounded by `timeout` seconds.

    `tokens` gives the access tokens of a mailbox with `auth = "oauth2"`.
    """
    _resolve(box)
    context = (ssl_context or default_context)() if box.tls != "none" else None
    client = _open(box, context, timeout)
    try:
        if box.tls == "starttls":
            _starttls(box, client, context)
        _login(box, client, tokens)
    except BaseException:
        close(client)
        raise
    return client


def close(client: IMAPClient) -> None:
    """Log out politely if the connection still works; never raise."""
    try:
        client.logout()
    except Exception:  # noqa: BLE001  (the connection is going away either way)
        try:
            client.shutdown()
        except Exception:
            log.debug("closing an IMAP connection failed", exc_info=True)


def server_text(exc: BaseException) -> str:
    """The server's words in an imaplib error, without the bytes repr around them."""
    text = str(exc).strip()
    match = _QUOTED_BYTES.match(text)
    return match.group(2) if match else text


def needed_folders(box: ImapMailboxSettings) -> tuple[str, ...]:
    """The folders `box` reads from and moves to; each must exist."""
    extra = [box.after[5:]] if box.after.startswith("move:") else []
    if box.quarantine_folder:
        extra.append(box.quarantine_folder)
    return tuple(dict.fromkeys([*box.folders, *extra]))


def check_folders(box: ImapMailboxSettings, client: IMAPClient) -> None:
    """Raise `ImapError` (missing folder) unless every folder `box` needs exists."""
    existing = [str(name) for _flags, _delimiter, name in client.list_folders()]
    missing = [name for name in needed_folders(box) if not _listed(name, existing)]
    if missing:
        shown = ", ".join(f'"{name}"' for name in missing)
        raise ImapError(
            box.name,
            MISSING_FOLDER,
            f"{shown} not found on {box.host}:{box.port} (the server has: {', '.join(existing)})",
        )


def probe(
    box: ImapMailboxSettings,
    *,
    tokens: TokenSource | None = None,
    ssl_context: SslContextFactory | None = None,
    timeout: float = 30.0,
) -> list[FolderStatus]:
    """Connect, log in, check the folders and count what is in each; for `imap test`."""
    client = connect(box, tokens=tokens, ssl_context=ssl_context, timeout=timeout)
    try:
        check_folders(box, client)
        return [_status(box, client, folder) for folder in box.folders]
    except (imaplib.IMAP4.error, OSError) as exc:
        raise session_error(box, exc) from exc
    finally:
        close(client)


def token_for(box: ImapMailboxSettings, tokens: TokenSource) -> AccessToken:
    """The access token to log in with, or an `ImapError` of the OAuth2 token stage."""
    try:
        return tokens.get()
    except TokenError as exc:
        raise ImapError(box.name, TOKEN, exc.detail) from exc


def session_error(box: ImapMailboxSettings, exc: BaseException) -> ImapError:
    """An error met after login, as an `ImapError` of the session stage."""
    if isinstance(exc, ImapError):
        return exc
    if isinstance(exc, imaplib.IMAP4.abort | OSError):
        return ImapError(box.name, SESSION, f"connection lost: {server_text(exc) or repr(exc)}")
    return ImapError(box.name, SESSION, f"the server said: {server_text(exc)}")


def _status(box: ImapMailboxSettings, client: IMAPClient, folder: str) -> FolderStatus:
    status = client.folder_status(folder, [b"MESSAGES", b"UNSEEN"])
    return FolderStatus(folder, int(status[b"MESSAGES"]), int(status[b"UNSEEN"]))


def _listed(name: str, existing: Iterable[str]) -> bool:
    # INBOX is case-insensitive (RFC 3501 5.1); every other name is compared exactly.
    if name.upper() == "INBOX":
        return any(other.upper() == "INBOX" for other in existing)
    return name in existing


def _resolve(box: ImapMailboxSettings) -> None:
    try:
        socket.getaddrinfo(box.host, box.port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ImapError(box.name, DNS, f"cannot resolve {box.host}: {exc.strerror}") from exc


def _open(box: ImapMailboxSettings, context: ssl.SSLContext | None, timeout: float) -> IMAPClient:
    where = f"{box.host}:{box.port}"
    try:
        return IMAPClient(
            box.host,
            box.port,
            ssl=box.tls == "implicit",
            ssl_context=context,
            timeout=timeout,
        )
    except ssl.SSLError as exc:  # certificate errors included
        raise ImapError(box.name, TLS, f"handshake with {where} failed: {_tls_text(exc)}") from exc
    except OSError as exc:
        raise ImapError(box.name, TCP, f"cannot connect to {where}: {_os_text(exc)}") from exc
    except imaplib.IMAP4.error as exc:
        raise ImapError(
            box.name, TCP, f"{where} is not an IMAP server: {server_text(exc)}"
        ) from exc


def _starttls(box: ImapMailboxSettings, client: IMAPClient, context: ssl.SSLContext | None) -> None:
    where = f"{box.host}:{box.port}"
    try:
        client.starttls(context)
    except CapabilityError as exc:
        raise ImapError(box.name, TLS, f"{where} does not offer STARTTLS") from exc
    except ssl.SSLError as exc:
        raise ImapError(box.name, TLS, f"STARTTLS with {where} failed: {_tls_text(exc)}") from exc
    except (imaplib.IMAP4.error, OSError) as exc:
        raise ImapError(box.name, TLS, f"STARTTLS with {where} failed: {server_text(exc)}") from exc


def _login(box: ImapMailboxSettings, client: IMAPClient, tokens: TokenSource | None) -> None:
    try:
        if box.oauth2 is None:
            client.login(box.username, box.password or "")
        else:
            assert tokens is not None, f"mailbox {box.name} has auth = oauth2 but no TokenSource"
            _token_login(box, client, tokens)
    except LoginError as exc:
        method = f"OAuth2 {box.oauth2.mechanism.upper()}" if box.oauth2 else "password"
        raise ImapError(
            box.name,
            AUTHENTICATION,
            f"the server refused user {box.username} ({method}): {server_text(exc)}",
        ) from exc
    except (imaplib.IMAP4.error, OSError) as exc:
        raise session_error(box, exc) from exc


def _token_login(box: ImapMailboxSettings, client: IMAPClient, tokens: TokenSource) -> None:
    """Log in with the current token; if refused, renew it and try once more.

    A token can stop working before the time it was said to last (revoked, or the server's
    clock runs ahead): a renewal then cures what a retry with the same token never would.
    """
    token = token_for(box, tokens)
    try:
        _authenticate(box, client, token)
    except LoginError:
        tokens.refused(token)
        _authenticate(box, client, token_for(box, tokens))


def _authenticate(box: ImapMailboxSettings, client: IMAPClient, token: AccessToken) -> None:
    assert box.oauth2 is not None
    if box.oauth2.mechanism == "oauthbearer":
        client.oauthbearer_login(box.username, token.value)
    else:
        client.oauth2_login(box.username, token.value)


def _tls_text(exc: ssl.SSLError) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError) and exc.verify_message:
        return f"certificate verify failed: {exc.verify_message}"
    return exc.reason or str(exc)


def _os_text(exc: OSError) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    return exc.strerror or str(exc) or type(exc).__name__
