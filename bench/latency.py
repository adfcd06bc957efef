"""Latency at a fixed offered load: receive → acknowledgement at the relay.

Messages are offered on a fixed schedule (open loop: a late send does not push the next one
back), and each latency runs from the moment its message was due to be sent to the moment
its acknowledgement reached the relay sink, so time spent waiting for a free SMTP client
counts too. Only new requests are acknowledged; the other messages of the mix are load.
"""

from __future__ import annotations

import queue
import smtplib
import statistics
import tempfile
import threading
import time
from email.parser import BytesHeaderParser
from pathlib import Path

from bench.corpus import QUEUE, Item, generate
from bench.figures import Figure, Scale, Target
from bench.site import send_all, site, wait_until_done

CLIENTS = 16
P99_NOTE = (
    "the offered load is above what the daemon sustains on this machine (see the SMTP "
    "figure), so the queue in front of the one ingest worker and the one outbox sender "
    "grows for as long as the load lasts and the latency with it"
)


def _offer(port: int, items: list[Item], rate: float) -> dict[str, float]:
    """Send `items` at `rate` per second; each Message-ID's due time (perf_counter)."""
    due: dict[str, float] = {}
    work: queue.Queue[Item | None] = queue.Queue()

    def client() -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=120) as smtp:
            while (item := work.get()) is not None:
                smtp.sendmail(item.mail_from, [QUEUE], item.raw)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    start = time.perf_counter()
    for number, item in enumerate(items):
        when = start + number / rate
        time.sleep(max(0.0, when - time.perf_counter()))
        due[_message_id(item.raw)] = when
        work.put(item)
    for _ in threads:
        work.put(None)
    for thread in threads:
        thread.join()
    return due


def _message_id(raw: bytes) -> str:
    return str(BytesHeaderParser().parsebytes(raw).get("Message-ID", "")).strip()


def run_once(scale: Scale, items: list[Item], rate: float) -> list[float]:
    """Latencies in milliseconds of every acknowledged message of one run."""
    with tempfile.TemporaryDirectory(dir=scale.work) as directory:
        url = f"sqlite:///{directory}/mailtickets.db"
        with site(Path(directory), url) as here:
            # One message first, so the daemon's first-use costs are not in the figures.
            send_all(here.smtp_port, items[:1], 1)
            wait_until_done(here, 1)
            warm = len(here.relay.received)
            due = _offer(here.smtp_port, items[1:], rate)
            wait_until_done(here, len(items))
            latencies = []
            for received in here.relay.received[warm:]:
                answered = str(received.message.get("In-Reply-To", "")).strip()
                if answered in due:
                    latencies.append((received.at - due[answered]) * 1000)
            return latencies


def measure(scale: Scale) -> list[Figure]:
    figures = []
    for rate in scale.latency_rates:
        items = generate(int(rate * scale.latency_seconds) + 1, seed=rate)
        runs = [sorted(run_once(scale, items, rate)) for _ in range(scale.runs)]
        for name, fraction in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99)):
            target = (
                Target(250, higher_is_better=False, if_missed=P99_NOTE)
                if name == "p99" and rate == 100
                else None
            )
            figures.append(
                Figure(
                    f"latency_{rate}_{name}",
                    f"Receive → acknowledgement at {rate} msg/s offered, {name}",
                    "ms",
                    tuple(_percentile(run, fraction) for run in runs),
                    target,
                    note=f"{statistics.median(len(run) for run in runs):.0f} acknowledgements",
                )
            )
    return figures


def _percentile(ordered: list[float], fraction: float) -> float:
    if not ordered:
        raise ValueError("no acknowledgement reached the relay")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
