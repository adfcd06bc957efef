"""Crash anywhere: mail keeps arriving over SMTP and IMAP while the daemon is SIGKILLed at
random (seeded) moments and restarted. Every message that got a 250 or sat in the mailbox
ends up on exactly one ticket, once; every acknowledgement is sent; a kill can at most make
the relay see one acknowledgement twice (accepted just before the kill, not yet recorded)."""

from __future__ import annotations

import random
import signal
import smtplib
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailtickets.config.settings import OutgoingSettings
from tests.faults.figures import Figures, scaled
from tests.faults.site import QUEUE, SECRET, Site, imap_table, wire
from tests.support.daemon import Daemon
from tests.support.dovecot import Dovecot, User, running_dovecot
from tests.support.mail import compose
from tests.support.relay import Relay

SEED = 20261122
SMTP_CLIENTS = 4


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    with running_dovecot() as server:
        yield server


class Senders:
    """SMTP clients that, like a sending MTA, retry each message until it is answered 250."""

    def __init__(self, port: int, message_ids: list[str]) -> None:
        self.port = port
        self.accepted: list[str] = []
        self.retries = 0
        self._lock = threading.Lock()
        shares = [message_ids[n::SMTP_CLIENTS] for n in range(SMTP_CLIENTS)]
        self.threads = [threading.Thread(target=self._client, args=(s,)) for s in shares]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def join(self) -> None:
        for thread in self.threads:
            thread.join()

    def _client(self, message_ids: list[str]) -> None:
        for message_id in message_ids:
            while not self._send(message_id):
                with self._lock:
                    self.retries += 1
                time.sleep(0.05)
            with self._lock:
                self.accepted.append(message_id)

    def _send(self, message_id: str) -> bool:
        sender = message_id.replace("@", "-at-") + "@customer.example"
        raw = compose(sender=sender, subject=f"crash {message_id}", message_id=message_id)
        try:
            with smtplib.SMTP("127.0.0.1", self.port, timeout=10) as client:
                client.ehlo()
                client.mail(sender)
                client.rcpt(QUEUE)
                return client.data(wire(raw))[0] == 250
        except (OSError, smtplib.SMTPException):
            return False  # refused, reset or cut mid-session by the kill: send again later


def _mailbox_feeder(dovecot: Dovecot, user: User, message_ids: list[str]) -> threading.Thread:
    def feed() -> None:
        with dovecot.session(user) as imap:
            for message_id in message_ids:
                imap.append("INBOX", compose(subject=f"imap {message_id}", message_id=message_id))
                time.sleep(0.02)

    return threading.Thread(target=feed)


def test_sigkill_at_random_moments_loses_and_doubles_nothing(
    tmp_path: Path, dovecot: Dovecot, figures: Figures
) -> None:
    total, kills = scaled(1000, 200), 20
    in_mailbox = total // 10
    rng = random.Random(SEED)
    user = dovecot.add_user()
    relay = Relay().up()
    site = Site(
        tmp_path,
        relay_port=relay.port,
        tickets="max_acknowledgements_per_hour = 10000\n",
        extra=imap_table(dovecot, user),
        env={**SECRET, "IMAP_PASSWORD": user.password},
    )
    smtp_ids = [f"smtp-{n}@customer.example" for n in range(total - in_mailbox)]
    imap_ids = [f"imap-{n}@customer.example" for n in range(in_mailbox)]
    senders = Senders(site.smtp_port, smtp_ids)
    feeder = _mailbox_feeder(dovecot, user, imap_ids)

    daemon: Daemon = site.daemon()
    try:
        senders.start()
        feeder.start()
        for _ in range(kills):
            time.sleep(rng.uniform(0.2, 1.5))
            daemon.stop(signal.SIGKILL)
            daemon = site.daemon()
        senders.join()
        feeder.join()
        site.settle(lambda: len(site.acknowledgements()) == site.ticket_count(), timeout=180)
        assert daemon.stop() == 0, daemon.output
    finally:
        daemon.__exit__()
        relay.down()

    expected = senders.accepted + imap_ids
    on_tickets = site.ticket_message_ids()
    lost = [m for m in expected if on_tickets[m] == 0]
    doubled = sum(count - 1 for count in on_tickets.values() if count > 1)
    acknowledgements = site.acknowledgements()
    unsent = [a.id for a in acknowledgements if a.sent_at is None]
    relayed = Counter(r.message["Message-ID"] for r in relay.received)
    resent = sum(count - 1 for count in relayed.values() if count > 1)
    never_relayed = [a.id for a in acknowledgements if relayed[f"<{a.message_id}>"] == 0]
    intake = site.intake_by_status()
    site.close()

    figures.tried = (
        f"{len(senders.accepted)} messages over SMTP ({senders.retries} retries after a "
        f"kill cut or refused them) and {len(imap_ids)} in a Dovecot mailbox, "
        f"{kills} SIGKILLs at seeded random moments (seed {SEED}), restart after each"
    )
    figures.messages, figures.kills = len(expected), kills
    # Duplicated: messages on a ticket twice, and acknowledgements the relay got twice.
    figures.lost, figures.duplicated = len(lost) + len(never_relayed), doubled + resent
    figures.note(f"intake rows by status: {dict(intake)}")
    figures.note(
        f"acknowledgements: {len(acknowledgements)} queued, {len(unsent)} unsent, "
        f"{len(never_relayed)} never reached the relay, {resent} reached it twice"
    )
    figures.survived = (
        f"{len(expected) - len(lost)} of {len(expected)} on exactly one ticket; "
        f"{resent} acknowledgement(s) sent twice (relay accepted, then killed before recorded)"
    )
    assert lost == [] and doubled == 0
    assert len(on_tickets) == len(expected)
    assert unsent == [] and never_relayed == []
    assert len(acknowledgements) == len(expected)
    # A kill repeats at most the send in flight on each relay connection: accepted by the
    # relay, not yet recorded.
    assert resent <= kills * OutgoingSettings.connections
    assert intake.get("quarantined", 0) == 0
