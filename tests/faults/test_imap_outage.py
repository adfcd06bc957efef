"""IMAP server restarted and unreachable for a while: the daemon's poller notices, SMTP goes
on meanwhile, and once Dovecot is back every message in the mailbox, including those the MTA
delivered into it while IMAP was down, is on exactly one ticket and marked seen."""

from __future__ import annotations

import shutil
import smtplib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from imapclient import SEEN

from tests.faults.figures import Figures
from tests.faults.site import QUEUE, SECRET, Site, imap_table, wire
from tests.support.dovecot import Dovecot, User, running_dovecot
from tests.support.mail import compose

MAILBOX_PART = "IMAP mailbox inbox"
BATCH = 20


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    with running_dovecot() as server:
        yield server


def _append(dovecot: Dovecot, user: User, prefix: str) -> list[str]:
    message_ids = [f"{prefix}-{n}@customer.example" for n in range(BATCH)]
    with dovecot.session(user) as imap:
        for message_id in message_ids:
            imap.append("INBOX", compose(subject=message_id, message_id=message_id))
    return message_ids


def _deliver_into_maildir(dovecot: Dovecot, user: User, prefix: str) -> list[str]:
    """What the MTA's local delivery does while the IMAP service is down."""
    new = dovecot.directory / "home" / user.name / "Maildir" / "new"
    message_ids = [f"{prefix}-{n}@customer.example" for n in range(BATCH)]
    for n, message_id in enumerate(message_ids):
        path = new / f"{time.time():.0f}.fault{n}.localhost"
        path.write_bytes(compose(subject=message_id, message_id=message_id))
        shutil.chown(path, "nobody", "nogroup")
    return message_ids


def _wait(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        time.sleep(0.2)


def _mailbox_ok(site: Site) -> bool:
    return bool(site.health()[1]["parts"][MAILBOX_PART]["ok"])  # type: ignore[index]


def test_imap_server_away_and_back(tmp_path: Path, dovecot: Dovecot, figures: Figures) -> None:
    user = dovecot.add_user()
    site = Site(
        tmp_path, extra=imap_table(dovecot, user), env={**SECRET, "IMAP_PASSWORD": user.password}
    )
    with site.daemon(log_level="error") as daemon:
        expected = _append(dovecot, user, "before")
        _wait(lambda: len(site.ticket_message_ids()) == BATCH, "the first batch on tickets")

        dovecot.stop()
        _wait(lambda: not _mailbox_ok(site), "/healthz to report the mailbox down")
        down_detail = site.health()[1]["parts"][MAILBOX_PART]["detail"]  # type: ignore[index]
        expected += _deliver_into_maildir(dovecot, user, "while-down")
        raw = wire(compose(message_id="smtp-during@customer.example"))
        with smtplib.SMTP("127.0.0.1", site.smtp_port, timeout=30) as client:
            smtp_answer = client.sendmail("smtp@customer.example", [QUEUE], raw)
        expected.append("smtp-during@customer.example")

        dovecot.start()
        expected += _append(dovecot, user, "after")
        _wait(lambda: len(site.ticket_message_ids()) == len(expected), "every message on a ticket")
        site.settle()
        _wait(lambda: _mailbox_ok(site), "/healthz to report the mailbox read again")
        assert daemon.stop() == 0, daemon.output

    on_tickets = site.ticket_message_ids()
    site.close()
    with dovecot.session(user) as imap:
        imap.select_folder("INBOX", readonly=True)
        flags = imap.fetch(imap.search(["ALL"]), ["FLAGS"])
    unseen = [uid for uid, data in flags.items() if SEEN not in data[b"FLAGS"]]
    lost = [m for m in expected if on_tickets[m] == 0]
    figures.tried = (
        f"{BATCH} messages read, Dovecot stopped, {BATCH} delivered into the maildir and one "
        f"over SMTP while it was down, Dovecot started, {BATCH} more appended"
    )
    figures.messages, figures.faults = len(expected), 1
    figures.lost = len(lost)
    figures.duplicated = (
        sum(n - 1 for n in on_tickets.values() if n > 1) + len(on_tickets) - len(expected)
    )
    figures.note(f"/healthz while down: {down_detail}")
    figures.survived = (
        f"{len(expected) - len(lost)} of {len(expected)} on one ticket each; "
        f"{len(flags) - len(unseen)} of {len(flags)} mailbox messages marked seen"
    )
    assert smtp_answer == {}
    assert lost == [] and figures.duplicated == 0
    assert len(flags) == 3 * BATCH and unseen == []
