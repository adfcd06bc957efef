"""`mailtickets imap …`: check that each configured mailbox can be read."""

from __future__ import annotations

import click

from mailtickets.cli import CliContext, fail
from mailtickets.config.settings import ImapMailboxSettings
from mailtickets.errors import ImapError
from mailtickets.ingest.imap_connect import (
    AUTHENTICATION,
    DNS,
    MISSING_FOLDER,
    TCP,
    TLS,
    FolderStatus,
    probe,
)

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
    authentication, missing folder). Exits 1 when any mailbox fails.
    """
    settings = cli.settings()
    boxes = [box for box in settings.imap if name is None or box.name == name]
    if name is not None and not boxes:
        fail(f'no [[imap]] mailbox is named "{name}" in {settings.source_name}')
    if not boxes:
        fail(f"no [[imap]] mailbox is configured in {settings.source_name}")
    failed = 0
    for box in boxes:
        try:
            folders = probe(box)
        except ImapError as exc:
            failed += 1
            click.echo(f"{box.name}: FAILED at {exc.stage}: {exc.detail} ({_hint(box, exc)})")
            continue
        click.echo(f"{box.name}: ok, {_where(box)}: {_folders(folders)}")
    if failed:
        fail(f"{failed} of {len(boxes)} mailbox(es) cannot be read")


def _where(box: ImapMailboxSettings) -> str:
    return f"{box.username} at {box.host}:{box.port} ({_TLS_NAMES.get(box.tls, box.tls)})"


def _folders(folders: list[FolderStatus]) -> str:
    return "; ".join(f"{f.name} has {f.unseen} unseen of {f.messages}" for f in folders)


def _hint(box: ImapMailboxSettings, exc: ImapError) -> str:
    if exc.stage == AUTHENTICATION:
        secret = "oauth2_token_env" if box.oauth2_token else "password_env"
        return f"check username and {secret}"
    return _HINTS.get(exc.stage, "see the server's log")


COMMANDS = [imap]
