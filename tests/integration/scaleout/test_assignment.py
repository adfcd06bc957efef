"""Two real `mailtickets run` instances on one PostgreSQL, fed new tickets at once over SMTP:
the queue's tickets are still shared out fairly (no agent over another by more than one),
in turn and by load, and the away agent gets none."""

from __future__ import annotations

import smtplib
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from mailtickets.db.models import Agent, Queue, Ticket
from tests.support.cli import SECRET, mailtickets
from tests.support.daemon import READY_LINE, Daemon
from tests.support.mail import compose
from tests.support.relay import Received, Relay, free_port

AGENTS = ("alice@acme.example", "bruno@acme.example", "carla@acme.example", "davi@acme.example")
QUEUES = {"support@acme.example": "round_robin", "vendas@acme.example": "least_open"}
PER_QUEUE = 30
SETTLE_SECONDS = 120


@pytest.fixture
def relay() -> Iterator[Relay]:
    sink = Relay().up()
    yield sink
    sink.down()


def _config(directory: Path, url: str, relay: Relay) -> tuple[Path, int]:
    port = free_port()
    directory.mkdir()
    queues = "".join(
        f'[[queue]]\naddress = "{address}"\nname = "{address[:5]}"\nassign = "{mode}"\n'
        for address, mode in QUEUES.items()
    )
    agents = "".join(f'[[agent]]\naddress = "{a}"\nname = "{a[:5]}"\n' for a in AGENTS)
    config = directory / "site.toml"
    config.write_text(
        f'[database]\nurl = "{url}"\n'
        f'[storage]\ndir = "{directory}/var"\n'
        "[tickets]\nmax_acknowledgements_per_hour = 1000\n"
        '[ingest]\npoll_interval = "1s"\n'
        f'[[smtp]]\nhost = "127.0.0.1"\nport = {port}\n'
        f'[outgoing]\nhost = "127.0.0.1"\nport = {relay.port}\ntls = "none"\n' + queues + agents
    )
    return config, port


def _feed(port: int, queue: str, numbers: range) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        for n in numbers:
            customer = f"c{n}@customer.example"
            mail = compose(sender=customer, to=queue, subject=f"{queue} request {n}")
            client.sendmail(customer, [queue], mail)


def _acknowledged(kept: list[Received]) -> int:
    return sum(r.endswith("@customer.example") for m in kept for r in m.recipients)


def test_two_instances_share_new_tickets_fairly(
    postgres_url: str, relay: Relay, tmp_path: Path
) -> None:
    configs = [_config(tmp_path / f"instance{n}", postgres_url, relay) for n in range(2)]
    env = {"MAILTICKETS_SECRET": SECRET}
    first = str(configs[0][0])
    upgraded = mailtickets("--config", first, "db", "upgrade", cwd=tmp_path, env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    engine = create_engine(postgres_url)
    with ExitStack() as stack:
        for config, _port in configs:
            args = ("--log-level", "warning", "--config", str(config))
            daemon = stack.enter_context(Daemon(config.parent, args, env))
            daemon.wait_for(READY_LINE)
        away = mailtickets("--config", first, "agents", "away", AGENTS[3], cwd=tmp_path, env=env)
        assert away.returncode == 0, away.stderr

        # Both instances at once, each queue's mail split between them.
        feeders = [
            threading.Thread(target=_feed, args=(port, queue, range(n, PER_QUEUE, 2)))
            for queue in QUEUES
            for n, (_config_path, port) in enumerate(configs)
        ]
        for feeder in feeders:
            feeder.start()
        for feeder in feeders:
            feeder.join()

        # Each new ticket's acknowledgement is queued in the transaction that assigns it:
        # once every ticket's has come, every assignment is committed.
        tickets = PER_QUEUE * len(QUEUES)
        relay.wait_until(lambda kept: _acknowledged(kept) >= tickets, SETTLE_SECONDS)

    with engine.connect() as connection:
        rows = connection.execute(
            select(Queue.address, Agent.address)
            .select_from(Ticket)
            .join(Queue, Ticket.queue_id == Queue.id)
            .join(Agent, Ticket.assignee_id == Agent.id)
        ).all()
    engine.dispose()
    for queue, mode in QUEUES.items():
        counts = Counter(agent for address, agent in rows if address == queue)
        print(f"{queue} ({mode}): {dict(counts)}")
        assert set(counts) == set(AGENTS[:3]), "the away agent got a ticket, or one got none"
        assert sum(counts.values()) == PER_QUEUE
        assert max(counts.values()) - min(counts.values()) <= 1, f"{mode}: {dict(counts)}"
