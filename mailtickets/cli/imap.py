"""`mailtickets imap …`: check that each configured mailbox can be read."""

from __future__ import annotations

import click

from mailtickets.cli import CliContext, fail
from mailtickets.clock import SystemClock
from mailtickets.config.settings import ImapMailboxSettings
from mailtickets.errors import ImapError, TokenError
from mailtickets.ingest.imap_connect import (
    AUTHENTICATION,
    DNS,
    MISSING_FOLDER,
    TCP,
    TLS,
    TOKEN,
    FolderStatus,
    probe,
)
from mailtickets.oauth2 import TokenSource, mailbox_tokens

_HINTS = {
    DNS: "check host",
    TCP: "check host and port, and that the server is up",
    TLS: "check tls (implicit, starttls or none) and the server's certificate",
    MISSING_FOLDER: "check folders, after and quarantine_folder",
}
_TLS_NAMES = {"implicit": "implicit TLS", "starttls": "STARTTLS", "none": "no TLS"}


@click.group("imap")
def imap() -> None:
    """IMAP mailboxes: test the connection to each."""


@imap.command("test")
@click.argument("name", required=False)
@click.pass_obj
def test(cli: CliContext, name: str | None) -> None:
    """Log in to each [[imap]] mailbox (or only NAME) and check its folders.

    Prints one line per mailbox; on failure, the stage that failed (DNS, TCP connect, TLS,
    OAuth2 token, authentication, missing folder). With OAuth2, the line says until when the
    token is valid and whether it was just fetched or read from the cache, or why the token
    endpoint gave none. Exits 1 when any mailbox fails.
    """
    settings = cli.settings()
    boxes = [box for box in settings.imap if name is None or box.name == name]
    if name is not None and not boxes:
        fail(f'no [[imap]] mailbox is named "{name}" in {settings.source_name}')
    if not boxes:
        fail(f"no [[imap]] mailbox is configured in {settings.source_name}")
    failed = 0
    for box in boxes:
        # The daemon's token cache is used and kept current, but never created from here.
        tokens = mailbox_tokens(box, settings.storage.dir, SystemClock(), create_storage=False)
        try:
            folders = probe(box, tokens=tokens)
        except ImapError as exc:
            failed += 1
            click.echo(f"{box.name}: FAILED at {exc.stage}: {exc.detail} ({_hint(box, exc)})")
            continue
        line = f"{box.name}: ok, {_where(box)}{_token(tokens)}: {_folders(folders)}"
        state = tokens.state() if tokens is not None else None
        if state is not None and state.error is not None:
            # It works until the token in hand expires: an outage announced, not one to hide.
            failed += 1
            hint = _token_hint(box, refused=state.refused)
            line += f"; but renewing the token failed: {state.error} ({hint})"
        click.echo(line)
    if failed:
        fail(f"{failed} of {len(boxes)} mailbox(es) cannot be read")


def _where(box: ImapMailboxSettings) -> str:
    return f"{box.username} at {box.host}:{box.port} ({_TLS_NAMES.get(box.tls, box.tls)})"


def _folders(folders: list[FolderStatus]) -> str:
    return "; ".join(f"{f.name} has {f.unseen} unseen of {f.messages}" for f in folders)


def _token(tokens: TokenSource | None) -> str:
    """The token part of an ok line: ", OAuth2 token cached, valid until …"."""
    if tokens is None:
        return ""
    state = tokens.state()
    if state.valid_until is None:
        return ""
    origin = "new" if state.origin == "endpoint" else "cached"
    return f", OAuth2 token {origin}, valid until {state.valid_until.isoformat(timespec='seconds')}"


def _hint(box: ImapMailboxSettings, exc: ImapError) -> str:
    if exc.stage == AUTHENTICATION and box.oauth2 is not None:
        return "check username, and scope in [imap.oauth2]: the token is not for this mailbox"
    if exc.stage == AUTHENTICATION:
        return "check username and password_env"
    if exc.stage == TOKEN:
        cause = exc.__cause__
        return _token_hint(box, refused=isinstance(cause, TokenError) and cause.refused)
    return _HINTS.get(exc.stage, "see the server's log")


def _token_hint(box: ImapMailboxSettings, *, refused: bool) -> str:
    """What to look at when the token endpoint gave no token: what it said, or reaching it."""
    if not refused:
        return "check token_url in [imap.oauth2] and that the endpoint can be reached"
    if box.oauth2 is not None and box.oauth2.flow == "client_credentials":
        return "check client_id and client_secret_env in [imap.oauth2]"
    return (
        "check client_id and client_secret_env in [imap.oauth2]; a revoked refresh token "
        "needs a new consent (README: OAuth2)"
    )


COMMANDS = [imap]
