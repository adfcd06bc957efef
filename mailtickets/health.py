"""What a daemon part is, and how it says whether it is well.

A part is anything with `name`, `start()`, `stop()` and `health()`: listeners, workers,
pollers, the scheduler, the status endpoint. The edges and workers that implement it sit in
many layers; `daemon` runs them and `endpoint` reports on them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Health:
    ok: bool
    detail: str = "ok"


class Reporter(Protocol):
    """Anything `/healthz` reports on: a part, or what parts share (an OAuth2 token)."""

    name: str

    def health(self) -> Health: ...


class Part(Reporter, Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def health(self) -> Health: ...


@dataclass(frozen=True)
class Stall:
    """Something a part does that has shown no progress for longer than it may."""

    what: str
    #: Seconds since its last sign of progress.
    silent: float


class Heartbeat:
    """A part's signs of progress, read by the watchdog (`daemon`).

    A thread beats on every turn of its loop, saying how long it is about to wait: a part
    waiting as designed (an idle poll, a backoff) is not stuck, one silent for longer than
    that wait plus the watchdog's allowance is. Activities that run side by side in one part
    (the scheduler's jobs) beat under their own names, and rest when they end.
    """

    def __init__(self, name: str, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self._monotonic = monotonic
        self._lock = threading.Lock()
        #: Per activity: when it last beat, and the wait it announced.
        self._beats: dict[str, tuple[float, float]] = {}

    def beat(self, wait: float = 0.0, activity: str = "") -> None:
        """Progress now; nothing more is to be expected for `wait` seconds."""
        with self._lock:
            self._beats[activity] = (self._monotonic(), wait)

    def rest(self, activity: str) -> None:
        """`activity` ended: it owes no further beat."""
        with self._lock:
            self._beats.pop(activity, None)

    def stalls(self, allowance: float) -> list[Stall]:
        """The activities silent for longer than their announced wait plus `allowance`."""
        now = self._monotonic()
        with self._lock:
            beats = list(self._beats.items())
        return [
            Stall(f"{self.name} ({activity})" if activity else self.name, now - at)
            for activity, (at, wait) in beats
            if now - at > wait + allowance
        ]


@runtime_checkable
class Beating(Protocol):
    """A part with threads of its own, which the event loop answering says nothing about."""

    heartbeat: Heartbeat
