"""`mailtickets run`: start every part, wait for a signal, stop them in reverse order.

A part is anything with `name`, `start()`, `stop()` and `health()` (listeners, workers,
pollers, the status endpoint). Parts start in the order given and stop in reverse, so the
edges close before the workers behind them finish the message in hand. Under systemd
(Type=notify) READY=1 is sent only once every part has started, with STATUS= lines,
WATCHDOG=1 pings when asked, and STOPPING=1. SIGHUP runs `on_reload` and reports its answer.

The watchdog pings only while every part with threads of its own (`Beating`) shows progress:
the event loop answering says nothing about a worker blocked on a lock. A part silent for
longer than the wait it announced plus `stuck_after` is named in one log line and in STATUS=,
and the pings stop until it moves again, so that systemd restarts the service.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Sequence

from mailtickets.health import Beating, Heartbeat, Part
from mailtickets.systemd import Notifier

log = logging.getLogger(__name__)

#: Seconds between looks at the heartbeats when systemd asks for no pings.
CHECK_INTERVAL = 5.0


async def serve(
    parts: Sequence[Part],
    stop_timeout: float,
    stuck_after: float,
    on_ready: Callable[[], None] = lambda: None,
    notifier: Notifier | None = None,
    on_reload: Callable[[], str] = lambda: "nothing to reload",
) -> None:
    """Run `parts` until SIGTERM or SIGINT, then stop each within `stop_timeout` seconds."""
    systemd = notifier or Notifier({})  # without one, nothing is sent
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    loop.add_signal_handler(signal.SIGHUP, lambda: _reload(on_reload, systemd))
    started: list[Part] = []
    watchdog: asyncio.Task[None] | None = None
    try:
        for part in parts:
            await part.start()
            started.append(part)
            log.info("started %s", part.name)
        on_ready()
        serving = f"serving: {', '.join(p.name for p in parts)}"
        systemd.notify(ready="1", status=serving)
        beating = [p.heartbeat for p in parts if isinstance(p, Beating)]
        watchdog = asyncio.create_task(
            Watchdog(beating, stuck_after, systemd, serving).run(
                systemd.watchdog_interval or CHECK_INTERVAL
            )
        )
        await stopping.wait()
        log.info("stopping")
    finally:
        systemd.notify(stopping="1", status="stopping")
        if watchdog is not None:
            watchdog.cancel()
        for part in reversed(started):
            try:
                await asyncio.wait_for(part.stop(), stop_timeout)
            except TimeoutError:
                log.error("%s did not stop within %.0fs", part.name, stop_timeout)
            log.info("stopped %s", part.name)
        loop.remove_signal_handler(signal.SIGHUP)
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
            # Stopped: a second SIGTERM (systemd's or an impatient operator's) while the
            # process exits must not kill it and turn a clean stop into a failure.
            signal.signal(signum, signal.SIG_IGN)


def _reload(on_reload: Callable[[], str], notifier: Notifier) -> None:
    report = on_reload()
    log.info("SIGHUP: %s", report)
    notifier.notify(status=f"reloaded: {report}")


class Watchdog:
    """WATCHDOG=1 while every heartbeat is on time; one log line when that changes.

    A relay being down is for /healthz, not a reason to be restarted: a part waiting for
    one still beats. Only a part that stops moving stops the pings.
    """

    def __init__(
        self, heartbeats: Sequence[Heartbeat], stuck_after: float, notifier: Notifier, serving: str
    ) -> None:
        self._heartbeats, self._stuck_after = heartbeats, stuck_after
        self._notifier, self._serving = notifier, serving
        self._stuck: tuple[str, ...] = ()

    async def run(self, interval: float) -> None:
        while True:
            self.check()
            await asyncio.sleep(interval)

    def check(self) -> None:
        stalls = [stall for beat in self._heartbeats for stall in beat.stalls(self._stuck_after)]
        stuck = tuple(stall.what for stall in stalls)
        pinging = self._notifier.watchdog_interval is not None
        if stuck != self._stuck and stuck:
            named = ", ".join(f"{s.what} (no progress for {s.silent:.0f}s)" for s in stalls)
            log.error(
                "watchdog: stuck: %s; %s",
                named,
                "systemd's watchdog is no longer pinged" if pinging else "restart the service",
            )
            self._notifier.notify(status=f"stuck: {named}")
        elif stuck != self._stuck:
            log.warning("watchdog: %s made progress again", ", ".join(self._stuck))
            self._notifier.notify(status=self._serving)
        self._stuck = stuck
        if pinging and not stuck:
            self._notifier.notify(watchdog="1")
