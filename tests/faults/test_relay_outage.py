"""Relay outage: the relay is away while mail keeps coming (backoff compressed to seconds, so a
second of the test stands for a minute of a real outage). The outbox grows, /healthz says the sender
is down and why, and after recovery every acknowledgement is delivered exactly once."""

from __future__ import annotations

import smtplib
import time
from collections import Counter
from pathlib import Path

from tests.faults.figures import Figures, scaled
from tests.faults.site import QUEUE, Site, wire
from tests.support.mail import compose
from tests.support.relay import Relay

OUTAGE_SECONDS = 10


def _send(port: int, count: int, prefix: str) -> list[str]:
    message_ids = [f"{prefix}-{n}@customer.example" for n in range(count)]
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        for message_id in message_ids:
            sender = f"{message_id.split('@')[0]}@customer.example"
            raw = compose(sender=sender, subject=message_id, message_id=message_id)
            assert client.sendmail(sender, [QUEUE], wire(raw)) == {}
    return message_ids


def test_relay_away_for_minutes_then_everything_delivered_once(
    tmp_path: Path, figures: Figures
) -> None:
    count = scaled(200, 50)
    relay = Relay()  # not up: the outage starts before the first mail
    site = Site(tmp_path, relay_port=relay.port, tickets="max_acknowledgements_per_hour = 100\n")
    with site.daemon(log_level="error") as daemon:
        started = time.monotonic()
        message_ids = _send(site.smtp_port, count, "outage")
        site.settle_intake()
        waiting = site.unfinished()[1]
        while time.monotonic() - started < OUTAGE_SECONDS:
            time.sleep(0.5)
        outage = time.monotonic() - started
        code, during = site.health()
        sender_state = during["parts"]["outbox sender"]  # type: ignore[index]
        attempts = site.outbox_attempts()

        relay.up()
        recovered = time.monotonic()
        site.settle(timeout=120)
        catching_up = time.monotonic() - recovered
        code_after, after = site.health()
        assert daemon.stop() == 0, daemon.output
    relay.down()

    relayed = Counter(r.message["Message-ID"] for r in relay.received)
    acknowledgements = site.acknowledgements()
    on_tickets = site.ticket_message_ids()
    site.close()
    lost = [m for m in message_ids if on_tickets[m] != 1]
    undelivered = [a.id for a in acknowledgements if relayed[f"<{a.message_id}>"] == 0]
    twice = sum(n - 1 for n in relayed.values() if n > 1)

    figures.tried = (
        f"{count} messages while the relay was away for {outage:.0f} s, with the first retry "
        "after 4 s (the default is 2 min, so the outage stands for about "
        f"{outage * 30 / 60:.0f} min), then the relay back"
    )
    figures.messages, figures.faults = count, attempts
    figures.lost, figures.duplicated = len(lost) + len(undelivered), twice
    figures.note(f"outbox during the outage: {waiting} waiting, {attempts} refused attempts")
    figures.note(f"/healthz during: {code} {sender_state}; after: {code_after}")
    figures.note(f"all delivered {catching_up:.0f} s after the relay came back (backoff)")
    figures.survived = (
        f"{len(acknowledgements) - len(undelivered)} of {count} acknowledgements delivered "
        f"after recovery, {twice} twice"
    )
    assert waiting == count and attempts > 0
    assert code == 503 and not sender_state["ok"]  # type: ignore[index]
    assert "Connection refused" in str(sender_state["detail"])  # type: ignore[index]
    assert code_after == 200 and after["status"] == "ok"
    assert lost == [] and undelivered == [] and twice == 0
    assert len(acknowledgements) == count
