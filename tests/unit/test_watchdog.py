"""Heartbeats and the watchdog that reads them, on a clock the test moves."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailtickets.daemon import Watchdog
from mailtickets.health import Heartbeat, Stall
from mailtickets.systemd import Notifier


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[socket.socket]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(str(tmp_path / "notify.sock"))
        listener.setblocking(False)
        yield listener


def _heard(listener: socket.socket) -> list[str]:
    heard = []
    while True:
        try:
            heard.append(listener.recv(4096).decode())
        except BlockingIOError:
            return heard


def test_a_part_waiting_as_it_said_is_not_stuck_one_silent_longer_is() -> None:
    clock = Monotonic()
    beat = Heartbeat("ingest worker", clock)
    beat.beat(wait=30)
    clock.now += 30 + 5
    assert beat.stalls(allowance=10) == []
    clock.now += 6
    assert beat.stalls(allowance=10) == [Stall("ingest worker", 41)]
    beat.beat()
    assert beat.stalls(allowance=10) == []


def test_side_by_side_activities_are_named_and_rest_when_done() -> None:
    clock = Monotonic()
    beat = Heartbeat("scheduler", clock)
    beat.beat(wait=5)
    beat.beat(activity="SLA sweep")
    clock.now += 12
    beat.beat(wait=5)  # the scheduler still ticks while the sweep hangs
    assert [s.what for s in beat.stalls(allowance=10)] == ["scheduler (SLA sweep)"]
    beat.rest("SLA sweep")
    assert beat.stalls(allowance=10) == []


def test_the_watchdog_pings_only_while_nothing_is_stuck_and_says_so_once(
    systemd: socket.socket, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Monotonic()
    worker, sender = Heartbeat("ingest worker", clock), Heartbeat("outbox sender", clock)
    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "notify.sock"), "WATCHDOG_USEC": "2"})
    watchdog = Watchdog([worker, sender], 10, notifier, "serving: everything")
    worker.beat()
    sender.beat(wait=60)
    watchdog.check()
    assert _heard(systemd) == ["WATCHDOG=1"]

    clock.now += 11
    with caplog.at_level(logging.WARNING, logger="mailtickets.daemon"):
        watchdog.check()
        watchdog.check()
        assert _heard(systemd) == ["STATUS=stuck: ingest worker (no progress for 11s)"]
        worker.beat()
        watchdog.check()
    assert _heard(systemd) == ["STATUS=serving: everything", "WATCHDOG=1"]
    assert [r.getMessage() for r in caplog.records] == [
        "watchdog: stuck: ingest worker (no progress for 11s); "
        "systemd's watchdog is no longer pinged",
        "watchdog: ingest worker made progress again",
    ]
