"""Periodic duties on APScheduler: the SLA sweep, auto-close, the managers' digest and the
agents' own lists of tickets ("My tickets").

One interval job per duty, `coalesce=True` (a late run is one run, not a burst) and
`max_instances=1` (never two sweeps at once). The scheduler keeps no state: what was sent is
in our tables, so a restart loses nothing and repeats nothing.

With several instances, only the owner of the `scheduler` duty runs them (see
`db.ownership`); the others ask for it every `takeover_interval` and, when it falls to them,
sweep at once. That asking is also the scheduler's heartbeat; each duty beats under its own
name while it runs, so the watchdog names a duty that hangs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.orm import Session, sessionmaker

from mailtickets.clock import Clock
from mailtickets.config.settings import SchedulerSettings
from mailtickets.db.ownership import SCHEDULER, Duties, SoleInstance
from mailtickets.health import Health, Heartbeat
from mailtickets.services.autoclose import auto_close
from mailtickets.services.digest import digest
from mailtickets.services.my_tickets import send_my_tickets
from mailtickets.services.sla.policy import SlaConfig
from mailtickets.services.sla.sweep import sweep

log = logging.getLogger(__name__)

#: A further periodic job, run at start and then every interval: its name, the interval,
#: and the work (returns the mail it queued).
Job = tuple[str, timedelta, Callable[[], int]]


class Scheduler:
    """A daemon part running the periodic duties."""

    name = "scheduler"

    def __init__(
        self,
        sessions: sessionmaker[Session],
        config: SlaConfig,
        settings: SchedulerSettings,
        clock: Clock,
        after_run: Callable[[], None] = lambda: None,
        jobs: Sequence[Job] = (),
        duties: Duties | None = None,
        takeover_interval: timedelta = timedelta(seconds=5),
    ) -> None:
        self._sessions, self._config, self._settings, self._clock = (
            sessions,
            config,
            settings,
            clock,
        )
        #: Called after a duty queued mail (the outbox sender has rows to send).
        self._after_run = after_run
        self._duties = duties or SoleInstance()
        self._takeover_interval = takeover_interval
        self._owner = False
        self._error: str | None = None
        self._jobs = jobs
        self._scheduler = BackgroundScheduler(timezone="UTC")
        self._stopping = False
        self._stopping_lock = threading.Lock()
        self.heartbeat = Heartbeat(self.name)

    async def start(self) -> None:
        every = self._settings.sweep_interval.total_seconds()
        options = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
        self._scheduler.add_job(self._sweep, "interval", seconds=every, id="sla", **options)
        if self._settings.digest_at is not None:
            hour, minute = (int(part) for part in self._settings.digest_at.split(":")[:2])
            self._scheduler.add_job(
                self._digest, "cron", hour=hour, minute=minute, id="digest", **options
            )
        if self._settings.auto_close_after is not None:
            self._scheduler.add_job(
                self._auto_close, "interval", seconds=every, id="auto-close", **options
            )
        self._scheduler.add_job(
            self._claim,
            "interval",
            seconds=self._takeover_interval.total_seconds(),
            id="takeover",
            next_run_time=datetime.now(UTC),
            **options,
        )
        for name, interval, work in self._jobs:
            # First at start: a daemon restarted more often than `interval` still does it.
            self._scheduler.add_job(
                self._run,
                "interval",
                args=(name, work),
                seconds=interval.total_seconds(),
                next_run_time=datetime.now(UTC),
                id=name,
                **options,
            )
        self._scheduler.start()

    async def stop(self) -> None:
        with self._stopping_lock:
            self._stopping = True
        self._scheduler.shutdown(wait=True)

    def health(self) -> Health:
        if self._error:
            return Health(False, self._error)
        if not self._owner:
            return Health(self._scheduler.running, "standby: another instance runs the duties")
        return Health(self._scheduler.running)

    def _claim(self) -> bool:
        """Own the duties if nobody does; a new owner sweeps at once instead of waiting."""
        self.heartbeat.beat(self._takeover_interval.total_seconds())
        was_owner, self._owner = self._owner, self._duties.claim(SCHEDULER)
        # APScheduler's shutdown holds its job store lock while it waits for running jobs, so
        # a job that changes a job after it began would wait for it for ever: `stop` takes
        # this lock first, and no job changes anything once stopping.
        with self._stopping_lock:
            if self._owner and not was_owner and not self._stopping:
                self._scheduler.modify_job("sla", next_run_time=datetime.now(UTC))
        return self._owner

    def _sweep(self) -> None:
        self._run("SLA sweep", lambda: sweep(self._sessions, self._config, self._clock.now()))

    def _digest(self) -> None:
        self._run("daily digest", lambda: digest(self._sessions, self._config, self._clock.now()))
        self._run(
            "agents' tickets",
            lambda: send_my_tickets(self._sessions, self._config, self._clock.now()),
        )

    def _auto_close(self) -> None:
        after = self._settings.auto_close_after
        assert after is not None
        self._run(
            "auto-close",
            lambda: auto_close(self._sessions, self._config, after, self._clock.now()),
        )

    def _run(self, duty: str, work: Callable[[], int]) -> None:
        if not self._claim():
            return
        self.heartbeat.beat(activity=duty)
        try:
            done = work()
        except Exception as exc:  # the next run tries again; say so once
            if self._error is None:
                log.exception("%s failed", duty)
            self._error = f"{duty}: {type(exc).__name__}: {exc}"[:300]
            return
        finally:
            self.heartbeat.rest(duty)
        self._error = None
        if done:
            log.info("%s: %s notice(s)", duty, done)
            self._after_run()
