"""Move a quarantined message, back on the IMAP server, into the mailbox's `quarantine_folder`.

The pipeline quarantines an intake row it cannot handle; when the row came from IMAP and the
message is still where it was read (`after = "seen"`), moving it there too shows the
mailbox's owner what mailtickets gave up on. It opens its own connection: the poller's
belongs to the poller's thread.
"""

from __future__ import annotations

import imaplib
import logging

from mailtickets.config.settings import ImapMailboxSettings
from mailtickets.ingest.imap_connect import (
    DEFAULT_TIMEOUT,
    SslContextFactory,
    close,
    connect,
    session_error,
)
from mailtickets.ingest.imap_folder import move
from mailtickets.oauth2 import TokenSource

log = logging.getLogger(__name__)


def move_to_quarantine(
    box: ImapMailboxSettings,
    source_key: str,
    *,
    tokens: TokenSource | None = None,
    ssl_context: SslContextFactory | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> bool:
    """Move the message an IMAP intake row came from into `quarantine_folder`.

    False when there is nothing to move: no quarantine folder configured, or the message is
    no longer where it was read (moved or deleted by `after`, or the folder renumbered).
    """
    if box.quarantine_folder is None:
        return False
    folder, uidvalidity, uid = parse_source_key(box.name, source_key)
    client = connect(box, tokens=tokens, ssl_context=ssl_context, timeout=timeout)
    try:
        selected = client.select_folder(folder)
        renumbered = int(selected[b"UIDVALIDITY"]) != uidvalidity
        if renumbered or uid not in client.search(["UID", str(uid)]):
            return False
        move(client, [uid], box.quarantine_folder)
        log.info("mailbox %s: moved %s to %s", box.name, source_key, box.quarantine_folder)
        return True
    except (imaplib.IMAP4.error, OSError) as exc:
        raise session_error(box, exc) from exc
    finally:
        close(client)


def parse_source_key(mailbox: str, source_key: str) -> tuple[str, int, int]:
    """(folder, UIDVALIDITY, UID) from "<mailbox>/<folder>/<uidvalidity>/<uid>"."""
    prefix = f"{mailbox}/"
    if not source_key.startswith(prefix):
        raise ValueError(f"{source_key!r} was not read from mailbox {mailbox}")
    folder, uidvalidity, uid = source_key[len(prefix) :].rsplit("/", 2)
    return folder, int(uidvalidity), int(uid)
