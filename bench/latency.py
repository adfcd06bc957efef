"""Latency against load: receive → acknowledgement at the relay, at fractions of capacity.

The capacity is measured first (the SMTP corpus run, `bench.ingest`); then messages are
offered at each fraction of it and the curve (p50, p95, p99) is drawn as `latency.png`
beside the report. Messages are offered on a fixed schedule (open loop: a late send does not
push the next one back), and each latency runs from the moment its message was due to be
sent to the moment its acknowledgement reached the relay sink, so time spent waiting for a
free SMTP client counts too. Only new requests are acknowledged; the other messages of the
mix, and the agents' notices that answer the same messages, are load.
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
from bench.ingest import smtp_run, sqlite_database
from bench.site import AGENTS, send_all, site, wait_until_done

CLIENTS = 16
#: Messages sent before the measured ones, not measured.
WARM = 20
P99_NOTE = (
    "the intake, the pipeline and the sender share one interpreter (the GIL) and, on SQLite, "
    "one write lock: near capacity an acknowledgement waits for the messages before it "
    "(see 'Latency' below)"
)
#: The issue's target: p99 at half the measured capacity.
TARGET_FRACTION = 0.5
PLOT = "latency.png"
PERCENTILES = (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))


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
            # A few messages first, so the daemon's first-use costs (each template and
            # language compiled, each statement cached) are not in the figures: a daemon
            # pays them once after it starts, and a run of a few seconds is mostly its start.
            # They are the corpus's last: the measured ones start, as the corpus does, with
            # new requests, which are acknowledged however few are measured.
            send_all(here.smtp_port, items[-WARM:], CLIENTS)
            wait_until_done(here, WARM)
            warm = len(here.relay.received)
            due = _offer(here.smtp_port, items[:-WARM], rate)
            wait_until_done(here, len(items))
            latencies = []
            # The customer's acknowledgement only: agents' notices answer the message too.
            for received in here.relay.received[warm:]:
                if AGENTS & set(received.recipients):
                    continue
                answered = str(received.message.get("In-Reply-To", "")).strip()
                if answered in due:
                    latencies.append((received.at - due[answered]) * 1000)
            return latencies


def measure(scale: Scale) -> list[Figure]:
    capacity, _ = smtp_run(scale, generate(scale.corpus), sqlite_database)
    figures = [
        Figure(
            "latency_capacity", "Capacity the latency curve is drawn against", "msg/s", (capacity,)
        )
    ]
    curve: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in PERCENTILES}
    for fraction in scale.latency_fractions:
        rate = capacity * fraction
        items = generate(WARM + int(rate * scale.latency_seconds) + 1, seed=int(fraction * 100))
        runs = [sorted(run_once(scale, items, rate)) for _ in range(scale.runs)]
        share = f"{fraction:.0%} of capacity ({rate:.1f} msg/s)"
        for name, percentile in PERCENTILES:
            target = (
                Target(250, higher_is_better=False, if_missed=P99_NOTE)
                if name == "p99" and fraction == TARGET_FRACTION
                else None
            )
            figure = Figure(
                f"latency_{fraction:g}_{name}",
                f"Receive → acknowledgement at {share}, {name}",
                "ms",
                tuple(_percentile(run, percentile) for run in runs),
                target,
                note=f"{statistics.median(len(run) for run in runs):.0f} acknowledgements",
            )
            figures.append(figure)
            curve[name].append((fraction * 100, figure.median))
    _plot(curve, capacity, scale.plots / PLOT)
    return figures


def _plot(curve: dict[str, list[tuple[float, float]]], capacity: float, path: Path) -> None:
    """Draw the percentiles against the offered load as a PNG."""
    import matplotlib  # the bench extra; the Agg backend draws without a display

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(6, 4))
    for name, points in curve.items():
        axes.plot([x for x, _ in points], [y for _, y in points], marker="o", label=name)
    axes.axhline(250, color="grey", linestyle="--", linewidth=1, label="target at 50%: 250 ms")
    axes.set_xlabel(f"offered load, % of capacity ({capacity:.1f} msg/s)")
    axes.set_ylabel("receive → acknowledgement, ms")
    axes.set_xlim(0, 105)
    axes.set_yscale("log")
    axes.legend()
    axes.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)


def _percentile(ordered: list[float], fraction: float) -> float:
    if not ordered:
        raise ValueError("no acknowledgement reached the relay")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
