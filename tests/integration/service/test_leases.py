"""A real daemon SIGKILLed while it holds leases: the next one to start takes the work up at
once instead of after the leases' backoff; a running instance's leases are never taken."""

from __future__ import annotations

import signal
import smtplib
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from mailtickets.db.models import InboundMessage, Lease, OutboundMessage
from tests.support.cli import mailtickets
from tests.support.daemon import READY_LINE, Daemon
from tests.support.mail import compose
from tests.support.relay import Relay, SilentRelay, free_port

SECRET = {"MAILTICKETS_SECRET": "shared by every instance of this test run"}


def _config(tmp_path: Path, name: str, database: str, relay_port: int) -> tuple[Path, int]:
    """An instance's config. The leases are long: the sender holds a row four times the
    relay timeout (4 min), a failed message waits 10 min; the test waits far less."""
    port = free_port()
    config = tmp_path / f"{name}.toml"
    config.write_text(
        f'[database]\nurl = "{database}"\n[storage]\ndir = "{tmp_path}/{name}"\n'
        '[ingest]\nretry_delay = "10m"\n'
        '[[queue]]\naddress = "support@acme.example"\n'
        f'[[smtp]]\nhost = "127.0.0.1"\nport = {port}\n'
        f'[outgoing]\nhost = "127.0.0.1"\nport = {relay_port}\ntls = "none"\n'
        'timeout = "60s"\n'
    )
    return config, port


def _upgrade(tmp_path: Path, config: Path) -> None:
    done = mailtickets("--config", str(config), "db", "upgrade", cwd=tmp_path, env=SECRET)
    assert done.returncode == 0, done.stderr


def _start(tmp_path: Path, config: Path) -> Daemon:
    daemon = Daemon(tmp_path, ("--config", str(config)), SECRET)
    daemon.wait_for(READY_LINE)
    return daemon


def _send(port: int, customer: str) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.sendmail(customer, ["support@acme.example"], compose(sender=customer))


def _until(condition: Callable[[], bool], timeout: float = 60) -> None:
    waiter = threading.Event()
    for _ in range(int(timeout * 10)):
        if condition():
            return
        waiter.wait(0.1)
    raise AssertionError("condition not met in time")


def _holders(url: str, model: type[InboundMessage] | type[OutboundMessage]) -> list[str | None]:
    """Each row's lease holder, None where nobody holds it."""
    lease = (Lease.work == model.__tablename__) & (Lease.row_id == model.id)
    engine = create_engine(url)
    with engine.connect() as connection:
        query = select(Lease.holder).select_from(model).outerjoin(Lease, lease)
        found = list(connection.scalars(query.order_by(model.id)))
    engine.dispose()
    return found


def _leased(url: str, model: type[InboundMessage] | type[OutboundMessage]) -> bool:
    return any(holder is not None for holder in _holders(url, model))


def test_the_outbox_leases_of_a_killed_daemon_are_sent_by_the_next_at_once(
    database_url: str, tmp_path: Path
) -> None:
    silent, relay = SilentRelay(), Relay().up()
    first, first_port = _config(tmp_path, "first", database_url, silent.port)
    second, _ = _config(tmp_path, "second", database_url, relay.port)
    _upgrade(tmp_path, first)
    try:
        with _start(tmp_path, first) as killed:
            _send(first_port, "ana@example.com")
            # The acknowledgement is leased, and its sending hangs on the silent relay.
            _until(lambda: _leased(database_url, OutboundMessage))
            killed.process.send_signal(signal.SIGKILL)
            killed.process.wait()
        with _start(tmp_path, second) as successor:
            successor.wait_for("outbox row(s) leased by mailtickets@")
            _until(lambda: len(relay.received) == 1)
            assert relay.received[0].recipients == ["ana@example.com"]
            assert successor.stop() == 0, successor.output
        assert "1 outbox row(s) leased by" in successor.output
    finally:
        relay.down()
        silent.close()


@pytest.mark.postgres
def test_an_intake_lease_of_a_killed_daemon_is_processed_by_the_next_at_once(
    postgres_url: str, tmp_path: Path
) -> None:
    relay = Relay().up()
    config, port = _config(tmp_path, "site", postgres_url, relay.port)
    _upgrade(tmp_path, config)
    engine = create_engine(postgres_url)
    try:
        with _start(tmp_path, config) as killed, engine.connect() as blocker:
            # The worker leases the message, then waits for the lock to write its ticket.
            blocker.execute(text("LOCK TABLE ticket IN SHARE MODE"))
            _send(port, "ana@example.com")
            _until(lambda: _leased(postgres_url, InboundMessage))
            killed.process.send_signal(signal.SIGKILL)
            killed.process.wait()
            blocker.commit()
        with _start(tmp_path, config) as successor:
            successor.wait_for("1 intake row(s) leased by mailtickets@")
            # (The killed one's ticket number may be gone: sequences do not roll back.)
            successor.wait_for("intake #1: new_ticket, ticket #")
            _until(lambda: len(relay.received) == 1)
            assert successor.stop() == 0, successor.output
    finally:
        relay.down()
        engine.dispose()


@pytest.mark.postgres
def test_a_running_instances_leases_are_never_taken(postgres_url: str, tmp_path: Path) -> None:
    silent, relay = SilentRelay(), Relay().up()
    hung, hung_port = _config(tmp_path, "hung", postgres_url, silent.port)
    second, second_port = _config(tmp_path, "second", postgres_url, relay.port)
    _upgrade(tmp_path, hung)
    try:
        with _start(tmp_path, hung) as running:
            _send(hung_port, "ana@example.com")
            _until(lambda: _leased(postgres_url, OutboundMessage))
            (holder,) = _holders(postgres_url, OutboundMessage)
            with _start(tmp_path, second) as newcomer:
                # The newcomer works: its own mail goes out...
                _send(second_port, "bia@example.com")
                _until(lambda: len(relay.received) == 1)
                assert relay.received[0].recipients == ["bia@example.com"]
                # ...while the running instance's lease stays its own.
                assert _holders(postgres_url, OutboundMessage) == [holder, None]
                assert "row(s) leased by" not in newcomer.output
                assert newcomer.stop() == 0, newcomer.output
            running.process.send_signal(signal.SIGKILL)
    finally:
        relay.down()
        silent.close()
