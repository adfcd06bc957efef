"""The systemd watchdog of a real `mailtickets run`: pinged while every part makes progress,
not while one is stuck for real (the outbox sender on a relay that never answers, the
ingest worker on a table the test keeps locked), and again once it moves."""

from __future__ import annotations

import re
import smtplib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.support.cli import mailtickets
from tests.support.daemon import Daemon
from tests.support.mail import compose
from tests.support.relay import Relay, SilentRelay, free_port

#: systemd's WatchdogSec, as the environment carries it: pings every 0.2 s.
WATCHDOG_USEC = 400_000
PING_INTERVAL = WATCHDOG_USEC / 2_000_000
SECRET = {"MAILTICKETS_SECRET": "shared by every instance of this test run"}


class Systemd:
    """The test's side of sd_notify: the datagram socket named by NOTIFY_SOCKET, read all the
    time, as systemd does (a full socket would block the daemon's event loop)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.bind(str(path))
        self._heard: list[str] = []
        self._read = 0
        self._changed = threading.Condition()
        threading.Thread(target=self._listen, daemon=True).start()

    def _listen(self) -> None:
        while True:
            try:
                datagram = self._socket.recv(4096).decode()
            except OSError:  # closed
                return
            with self._changed:
                self._heard.append(datagram)
                self._changed.notify_all()

    def until(self, wanted: str, timeout: float = 60) -> list[str]:
        """The datagrams not read yet up to the first containing `wanted`, that one included."""
        with self._changed:
            found = self._changed.wait_for(
                lambda: any(wanted in d for d in self._heard[self._read :]), timeout
            )
            unread = self._heard[self._read :]
            if not found:
                raise AssertionError(f"{wanted!r} never came; systemd heard {unread}")
            upto = next(n for n, d in enumerate(unread) if wanted in d) + 1
            self._read += upto
            return unread[:upto]

    def during(self, seconds: float) -> list[str]:
        """Whatever arrives within `seconds`."""
        with self._changed:
            self._read = len(self._heard)
        threading.Event().wait(seconds)
        with self._changed:
            arrived = self._heard[self._read :]
            self._read = len(self._heard)
            return arrived

    def close(self) -> None:
        self._socket.shutdown(socket.SHUT_RDWR)
        self._socket.close()


@contextmanager
def _daemon(tmp_path: Path, config: Path) -> Iterator[tuple[Daemon, Systemd]]:
    systemd = Systemd(tmp_path / "notify.sock")
    env = {"NOTIFY_SOCKET": str(systemd.path), "WATCHDOG_USEC": str(WATCHDOG_USEC), **SECRET}
    try:
        with Daemon(tmp_path, ("--config", str(config)), env) as daemon:
            assert "STATUS=serving: " in systemd.until("READY=1")[-1]
            systemd.until("WATCHDOG=1")
            yield daemon, systemd
    finally:
        systemd.close()


def _site(tmp_path: Path, database: str, extra: str) -> tuple[Path, int]:
    port = free_port()
    config = tmp_path / "site.toml"
    config.write_text(
        f'[database]\nurl = "{database}"\n[storage]\ndir = "{tmp_path}/var"\n'
        '[daemon]\nstuck_after = "1s"\n[scheduler]\nsweep_interval = "1h"\n'
        '[[queue]]\naddress = "support@acme.example"\n'
        f'[[smtp]]\nhost = "127.0.0.1"\nport = {port}\n' + extra
    )
    upgraded = mailtickets("--config", str(config), "db", "upgrade", cwd=tmp_path, env=SECRET)
    assert upgraded.returncode == 0, upgraded.stderr
    return config, port


def _send(port: int) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.sendmail("ana@example.com", ["support@acme.example"], compose())


def _assert_stuck_then_moving(daemon: Daemon, systemd: Systemd, part: str) -> None:
    """The pings stop while `part` is stuck, naming it; they come back when it moves."""
    stuck = systemd.until("STATUS=stuck")[-1]
    assert stuck.startswith(f"STATUS=stuck: {part} (no progress for "), stuck
    daemon.wait_for(f"watchdog: stuck: {part} (no progress for ")
    # Five intervals: a daemon still pinging would have pinged four or five times.
    quiet = systemd.during(5 * PING_INTERVAL)
    assert not [d for d in quiet if "WATCHDOG=1" in d], quiet


def test_a_relay_slow_to_answer_the_final_dot_keeps_the_watchdog_fed(tmp_path: Path) -> None:
    # RFC 5321 gives the final dot 10 minutes: the transport announces that wait when it
    # begins it, so a relay slower than `stuck_after` (and the command timeout) is no stall.
    relay = Relay().up()
    relay.handler.data_delay = 4.0
    extra = (
        f'[outgoing]\nhost = "127.0.0.1"\nport = {relay.port}\ntls = "none"\n'
        'timeout = "1s"\nretry_delay = "1h"\n'
    )
    config, port = _site(tmp_path, f"sqlite:///{tmp_path}/mt.db", extra)
    try:
        with _daemon(tmp_path, config) as (daemon, systemd):
            _send(port)
            daemon.wait_for(re.compile(r"outbox #\d+ sent"))
            heard = systemd.until("WATCHDOG=1")  # all since start-up: no stall among them
            assert not [d for d in heard if "STATUS=stuck" in d], heard
            assert daemon.stop() == 0, daemon.output
    finally:
        relay.down()
    assert "watchdog: stuck" not in daemon.output
    assert len(relay.received) == 1  # the acknowledgement, once


def test_a_sender_hung_on_a_silent_relay_stops_the_watchdog(tmp_path: Path) -> None:
    relay = SilentRelay()
    extra = (
        f'[outgoing]\nhost = "127.0.0.1"\nport = {relay.port}\ntls = "none"\n'
        'timeout = "60s"\nretry_delay = "1s"\n'
    )
    config, port = _site(tmp_path, f"sqlite:///{tmp_path}/mt.db", extra)
    try:
        with _daemon(tmp_path, config) as (daemon, systemd):
            _send(port)  # its acknowledgement goes to the relay, which says nothing
            # The sender's first connection took it; the others, idle, are not suspected.
            _assert_stuck_then_moving(daemon, systemd, "outbox sender (connection 1)")
            relay.answer()  # 421: the sender defers the mail and moves on
            relay.close()
            back = systemd.until("WATCHDOG=1")
            assert any(d.startswith("STATUS=serving: ") for d in back), back
            daemon.wait_for("watchdog: outbox sender (connection 1) made progress again")
            assert daemon.stop() == 0, daemon.output
    finally:
        relay.close()
    assert daemon.output.count("watchdog: stuck:") == 1, daemon.output


def test_a_worker_blocked_on_a_database_lock_stops_the_watchdog(
    postgres_url: str, tmp_path: Path
) -> None:
    config, port = _site(tmp_path, postgres_url, "")
    engine = create_engine(postgres_url)
    try:
        with _daemon(tmp_path, config) as (daemon, systemd), engine.connect() as blocker:
            # Readers pass, intake stores the mail; the worker's first write to a ticket waits.
            blocker.execute(text("LOCK TABLE ticket IN SHARE MODE"))
            _send(port)  # the worker takes it and waits for the lock
            _assert_stuck_then_moving(daemon, systemd, "ingest worker")
            blocker.commit()
            back = systemd.until("WATCHDOG=1")
            assert any(d.startswith("STATUS=serving: ") for d in back), back
            daemon.wait_for("watchdog: ingest worker made progress again")
            listed = mailtickets(
                "--config", str(config), "tickets", "list", cwd=tmp_path, env=SECRET
            )
            assert "Printer on fire" in listed.stdout, listed.stderr
            assert daemon.stop() == 0, daemon.output
    finally:
        engine.dispose()
