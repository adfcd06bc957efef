"""A daemon part that runs one unit of work after another in its own thread.

Woken at once when there is work (`wake()`), it otherwise looks again every poll interval, so
work left by a crash is found too. An exception never ends the thread: it is logged once per
outage, reported by `health()`, and the loop waits a poll interval before trying again. Each
turn of the loop, and each wait, beats its `heartbeat` for the watchdog.
"""

from __future__ import annotations

import abc
import asyncio
import logging
import threading

from mailtickets.health import Health, Heartbeat

log = logging.getLogger(__name__)


class BackgroundLoop(abc.ABC):
    def __init__(self, name: str, poll_seconds: float) -> None:
        self.name = name
        self._poll = poll_seconds
        self._failure: str | None = None
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.heartbeat = Heartbeat(name)

    @abc.abstractmethod
    def work_once(self) -> bool:
        """Do one unit of work; False when there was none."""

    def trouble(self) -> str | None:
        """What keeps the work from succeeding though the loop runs (a relay away, say)."""
        return None

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._thread.start()

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        await asyncio.to_thread(self._thread.join)
        self.close()

    def close(self) -> None:  # noqa: B027  (a hook: most loops hold nothing open)
        """Release what the work held open (connections)."""

    def health(self) -> Health:
        problem = self._failure or self.trouble()
        if problem is not None:
            return Health(False, problem)
        alive = self._thread.is_alive()
        return Health(alive, "ok" if alive else "stopped")

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            self.heartbeat.beat()
            try:
                busy = self.work_once()
                self._failure = None
            except Exception as exc:  # most often the database away: say so once, retry
                if self._failure is None:
                    log.exception("%s failed; retrying every %.0fs", self.name, self._poll)
                self._failure, busy = f"{type(exc).__name__}: {exc}"[:300], False
            if not busy:
                self.heartbeat.beat(self._poll)
                self._wake.wait(self._poll)
