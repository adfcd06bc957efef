"""Several instances on one PostgreSQL: SMTP ingest with one instance, then with three.

The same corpus goes to each run's listeners, its SMTP clients spread evenly over the
instances; the clock stops when every message is processed and every mail has reached the
one relay sink the instances share. Intake and outbox rows are shared out with SKIP LOCKED
leases, so the instances work the same queue.
"""

from __future__ import annotations

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

from bench.corpus import Item, generate
from bench.figures import Figure, Scale
from bench.site import send_all, site, wait_until_done
from tests.support import postgres
from tests.support.relay import Relay

INSTANCES = (1, 3)
NOTE = (
    "on this 2-core machine the three daemons share two cores with PostgreSQL, the relay "
    "sink and the SMTP clients, so the ratio shows what sharing one database costs and how "
    "much the daemons overlap their waiting (fsync, network), not how they scale across hosts"
)


def run_once(scale: Scale, items: list[Item], instances: int) -> float:
    """Messages per second through `instances` daemons on one fresh database."""
    with (
        tempfile.TemporaryDirectory(dir=scale.work) as directory,
        postgres.fresh_database() as url,
        ExitStack() as stack,
    ):
        relay = Relay().up()
        stack.callback(relay.down)
        sites = [
            stack.enter_context(site(Path(directory) / f"instance{n}", url, relay=relay))
            for n in range(instances)
        ]
        clients = max(1, scale.clients // instances)
        started = time.perf_counter()
        with ThreadPoolExecutor(instances) as pool:
            sent = [
                pool.submit(send_all, here.smtp_port, items[number::instances], clients)
                for number, here in enumerate(sites)
            ]
            for done in sent:
                done.result()
        wait_until_done(sites[0], len(items))
        return len(items) / (time.perf_counter() - started)


def measure(scale: Scale) -> list[Figure]:
    items = generate(max(scale.corpus // 2, len(INSTANCES) * 2))
    rates: dict[int, list[float]] = {n: [] for n in INSTANCES}
    for _ in range(scale.runs):
        for instances in INSTANCES:
            rates[instances].append(run_once(scale, items, instances))
    one, many = INSTANCES[0], INSTANCES[-1]
    figures = [
        Figure(
            f"scaleout_{n}",
            f"Ingest through SMTP, {n} instance{'s' if n > 1 else ''} on one PostgreSQL",
            "msg/s",
            tuple(rates[n]),
        )
        for n in INSTANCES
    ]
    ratio = tuple(m / o for m, o in zip(rates[many], rates[one], strict=True))
    figures.append(
        Figure(
            "scaleout_ratio",
            f"Throughput of {many} instances over {one}",
            "x",
            ratio,
            note=NOTE,
        )
    )
    return figures
