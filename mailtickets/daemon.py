"""`mailtickets run`: start every part, wait for a signal, stop them in reverse order.

A part is anything with `name`, `start()`, `stop()` and `health()` (listeners, workers,
pollers, the status endpoint). Parts start in the order given and stop in reverse, so the
edges close before the workers behind them finish the message in hand. Under systemd
(Type=notify) READY=1 is sent only once every part has started, with STATUS= lines,
WATCHDOG=1 pings when asked, and STOPPING=1. SIGHUP runs `on_reload` and reports its answer.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Sequence

from mailtickets.health import Part
from mailtickets.systemd import Notifier

log = logging.getLogger(__name__)


async def serve(
    parts: Sequence[Part],
    stop_timeout: float,
    on_ready: Callable[[], None] = lambda: None,
    notifier: Notifier | None = None,
    on_reload: Callable[[], str] = lambda: "nothing to reload",
) -> None:
    """Run `parts` until SIGTERM or SIGINT, then stop each within `stop_timeout` seconds."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    loop.add_signal_handler(signal.SIGHUP, lambda: _reload(on_reload, notifier))
    started: list[Part] = []
    watchdog: asyncio.Task[None] | None = None
    try:
        for part in parts:
            await part.start()
            started.append(part)
            log.info("started %s", part.name)
        on_ready()
        if notifier is not None:
            notifier.notify(ready="1", status=f"serving: {', '.join(p.name for p in parts)}")
            if notifier.watchdog_interval:
                watchdog = asyncio.create_task(_watchdog(notifier, notifier.watchdog_interval))
        await stopping.wait()
        log.info("stopping")
    finally:
        if notifier is not None:
            notifier.notify(stopping="1", status="stopping")
        if watchdog is not None:
            watchdog.cancel()
        for part in reversed(started):
            try:
                await asyncio.wait_for(part.stop(), stop_timeout)
            except TimeoutError:
                log.error("%s did not stop within %.0fs", part.name, stop_timeout)
            log.info("stopped %s", part.name)
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(signum)


def _reload(on_reload: Callable[[], str], notifier: Notifier | None) -> None:
    report = on_reload()
    log.info("SIGHUP: %s", report)
    if notifier is not None:
        notifier.notify(status=f"reloaded: {report}")


async def _watchdog(notifier: Notifier, interval: float) -> None:
    # The event loop answering at all is what systemd wants to know; a relay being down is
    # for /healthz, not a reason to be restarted.
    while True:
        notifier.notify(watchdog="1")
        await asyncio.sleep(interval)
