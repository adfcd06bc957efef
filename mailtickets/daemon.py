"""`mailtickets run`: start every part, wait for a signal, stop them in reverse order.

A part is anything with `name`, `start()` and `stop()` (listeners, workers, pollers). Parts
start in the order given and stop in reverse, so the edges close before the workers behind
them finish the message in hand.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Sequence
from typing import Protocol

log = logging.getLogger(__name__)


class Part(Protocol):
    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


async def serve(
    parts: Sequence[Part],
    stop_timeout: float,
    on_ready: Callable[[], None] = lambda: None,
) -> None:
    """Run `parts` until SIGTERM or SIGINT, then stop each within `stop_timeout` seconds."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    started: list[Part] = []
    try:
        for part in parts:
            await part.start()
            started.append(part)
            log.info("started %s", part.name)
        on_ready()
        await stopping.wait()
        log.info("stopping")
    finally:
        for part in reversed(started):
            try:
                await asyncio.wait_for(part.stop(), stop_timeout)
            except TimeoutError:
                log.error("%s did not stop within %.0fs", part.name, stop_timeout)
            log.info("stopped %s", part.name)
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
