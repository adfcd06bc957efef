"""What a daemon part is, and how it says whether it is well.

A part is anything with `name`, `start()`, `stop()` and `health()`: listeners, workers,
pollers, the scheduler, the status endpoint. The edges and workers that implement it sit in
many layers; `daemon` runs them and `endpoint` reports on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


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
