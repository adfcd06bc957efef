"""The IMAP edge: one thread per `[[imap]]` mailbox, reading new mail into the intake.

`ImapPoller` is a daemon part. Its thread connects (`imap_connect`), reads every configured
folder from its UID cursor (`imap_folder`), then waits for news: in IDLE on the first folder
when the server offers it, re-issued every `idle_refresh` (servers drop an IDLE after 30
minutes), and in any case no longer than `poll_interval`, after which every folder is read
again; without IDLE it simply polls. A lost connection, a restarted server or a timeout is
retried with exponential backoff and jitter, logged once per outage; a refused login, a failed
TLS handshake or a missing folder is logged as an error and retried slowly, since it needs an
operator. Each mailbox has its own thread, so one dead server never holds up another.

A mailbox with OAuth2 wakes when its token is due for renewal (80 % of its lifetime), renews
it while the session goes on, and logs in again with the new token; a failed renewal keeps the
session on the old token until that expires. The token source logs a failing token endpoint
itself, so the poller does not repeat it.

With several instances, each folder is read by the instance that owns it (`db.ownership`);
the thread reads the folders it owns and asks for the others every `takeover_interval`. An
instance that owns none of a mailbox's folders does not connect to it.

The thread beats its `heartbeat` before each step, each wait (saying how long it will be)
and each message stored, so the watchdog can tell a long wait from a hang.

The module is one thread's life cycle (connect, read, idle, succeed or back off) and stays
whole at about 430 lines: the connection and the folder reads are already their own modules,
and what is left shares the thread's state at every step.
"""

from __future__ import annotations

import asyncio
import imaplib
import logging
import math
import random
import selectors
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from imapclient import IMAPClient
from sqlalchemy.orm import Session, sessionmaker

from mailtickets.clock import Clock
from mailtickets.config.settings import ImapMailboxSettings, QueueSettings
from mailtickets.db.ownership import Duties, SoleInstance, imap_folder
from mailtickets.errors import DatabaseUnavailable, ImapError
from mailtickets.health import Health, Heartbeat
from mailtickets.ingest import intake
from mailtickets.ingest.imap_connect import (
    AUTHENTICATION,
    DEFAULT_TIMEOUT,
    MISSING_FOLDER,
    SESSION,
    TLS,
    TOKEN,
    SslContextFactory,
    check_folders,
    close,
    connect,
    session_error,
    token_for,
)
from mailtickets.ingest.imap_folder import Cursor, FolderReader, IntakeFn, new_uids
from mailtickets.oauth2 import TokenSource
from mailtickets.oauth2_token import AccessToken

log = logging.getLogger(__name__)

#: Failures that retrying soon cannot cure; a bad password retried quickly can lock an account.
REFUSALS = frozenset({AUTHENTICATION, TLS, MISSING_FOLDER})
_MIN_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class Backoff:
    """How long to wait before reconnecting: doubling from `first` up to `limit`, jittered."""

    first: timedelta = timedelta(seconds=2)
    limit: timedelta = timedelta(minutes=5)
    #: The wait after a refusal (see `REFUSALS`).
    refused: timedelta = timedelta(minutes=10)

    def delay(self, failures: int, refused: bool, rng: random.Random) -> float:
        if refused:
            base = self.refused.total_seconds()
        else:
            doubled = self.first.total_seconds() * 2 ** min(failures - 1, 32)
            base = min(self.limit.total_seconds(), doubled)
        # Jitter spreads the reconnections of many mailboxes after a shared server comes back.
        return base * rng.uniform(0.5, 1.0)


@dataclass(frozen=True)
class MailboxState:
    """How reading one mailbox goes, for health checks and status pages."""

    mailbox: str
    last_success: datetime | None
    error: str | None
    failures: int
    unseen: int | None
    #: Nothing stored for `stall_after` while the server kept reporting unseen mail.
    stalled: bool
    #: Folders another instance reads.
    elsewhere: tuple[str, ...] = ()


class ImapPoller:
    """A daemon part reading one `[[imap]]` mailbox in its own thread."""

    def __init__(
        self,
        settings: ImapMailboxSettings,
        sessions: sessionmaker[Session],
        clock: Clock,
        *,
        queues: Sequence[QueueSettings] = (),
        on_accepted: Callable[[], None] = lambda: None,
        accept: IntakeFn = intake.accept_all,
        ssl_context: SslContextFactory | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        idle_refresh: timedelta = timedelta(minutes=8),
        backoff: Backoff = Backoff(),
        stall_after: timedelta = timedelta(hours=1),
        duties: Duties | None = None,
        takeover_interval: timedelta = timedelta(seconds=5),
        tokens: TokenSource | None = None,
    ) -> None:
        self.name = f"IMAP mailbox {settings.name}"
        self._settings = settings
        #: The access tokens of a mailbox with `auth = "oauth2"`.
        self._tokens = tokens
        self._clock = clock
        self._ssl_context = ssl_context
        self._timeout = timeout
        self._idle_refresh = idle_refresh.total_seconds()
        self._poll_interval = max(settings.poll_interval.total_seconds(), _MIN_POLL_SECONDS)
        self._backoff = backoff
        self._stall_after = stall_after
        self._duties = duties or SoleInstance()
        self._takeover_interval = takeover_interval.total_seconds()
        self._elsewhere: tuple[str, ...] = ()
        self._rng = random.Random()
        self._stopping = threading.Event()
        self.heartbeat = Heartbeat(self.name)
        self._on_accepted = on_accepted
        self._reader = FolderReader(
            settings,
            sessions,
            clock,
            accept,
            rcpt_to=_recipients(settings, queues),
            on_accepted=self._accepted,
            stopping=self._stopping,
        )
        self._thread: threading.Thread | None = None
        self._waker: tuple[socket.socket, socket.socket] | None = None
        self._lock = threading.Lock()
        self._last_success: datetime | None = None
        self._error: str | None = None
        self._refused = False
        self._failures = 0
        self._unseen: int | None = None
        self._unseen_since: datetime | None = None

    async def start(self) -> None:
        """Start the thread; connection problems are its own business and never fail this."""
        self._stopping.clear()
        self._waker = socket.socketpair()
        self._thread = threading.Thread(
            target=self._run, name=f"imap-{self._settings.name}", daemon=True
        )
        self._thread.start()

    async def stop(self) -> None:
        """Interrupt the wait, let the batch in hand be stored and flagged, log out."""
        thread, waker = self._thread, self._waker
        if thread is None or waker is None:
            return
        self._stopping.set()
        waker[1].send(b"x")
        await asyncio.to_thread(thread.join)
        self._thread = self._waker = None
        self._stopping.clear()
        for end in waker:
            end.close()

    def last_success(self) -> datetime | None:
        """When the mailbox was last read without error (for metrics)."""
        return self._last_success

    def state(self) -> MailboxState:
        now = self._clock.now()
        with self._lock:
            since = self._unseen_since
            return MailboxState(
                mailbox=self._settings.name,
                last_success=self._last_success,
                error=self._error,
                failures=self._failures,
                unseen=self._unseen,
                stalled=since is not None and now - since >= self._stall_after,
                elsewhere=self._elsewhere,
            )

    def health(self) -> Health:
        """Down while the mailbox cannot be read or is stalled; `state()` has the details."""
        if self._thread is None or not self._thread.is_alive():
            return Health(False, "stopped")
        state = self.state()
        if state.error is not None:
            return Health(False, f"{state.error} ({state.failures} failed attempt(s))")
        if state.stalled:
            return Health(False, f"stalled: {state.unseen} unseen message(s) are not read")
        if state.elsewhere == self._settings.folders:
            return Health(True, "standby: another instance reads this mailbox")
        if state.last_success is None:
            return Health(True, "connecting")
        return Health(True, f"read at {state.last_success.isoformat(timespec='seconds')}")

    def poll_once(self) -> int:
        """Connect, read every folder once, log out; the number of new intake rows.

        For tests and one-off runs; never while the part is started.
        """
        client = self._connect()
        try:
            return self._read_all(client, self._settings.folders)[0]
        except (imaplib.IMAP4.error, OSError) as exc:
            raise session_error(self._settings, exc) from exc
        finally:
            close(client)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self.heartbeat.beat()
            try:
                self._session()
            except Exception as exc:  # noqa: BLE001  (whatever it was, this thread carries on)
                self._wait(self._failed(exc))

    def _wait(self, seconds: float) -> None:
        """Sleep until `seconds` pass or the part stops; the watchdog is told how long."""
        self.heartbeat.beat(seconds)
        self._stopping.wait(seconds)

    def _accepted(self) -> None:
        self.heartbeat.beat()
        self._on_accepted()

    def _connect(self) -> IMAPClient:
        client = connect(
            self._settings,
            tokens=self._tokens,
            ssl_context=self._ssl_context,
            timeout=self._timeout,
        )
        try:
            check_folders(self._settings, client)
        except BaseException:
            close(client)
            raise
        return client

    def _session(self) -> None:
        if not self._owned():
            self._wait(self._takeover_interval)
            return
        client = self._connect()
        used = self._tokens.current() if self._tokens is not None else None
        try:
            idle = client.has_capability("IDLE")
            log.info(
                "mailbox %s: connected to %s:%s, %s",
                self._settings.name,
                self._settings.host,
                self._settings.port,
                "IDLE" if idle else "no IDLE, polling",
            )
            while not self._stopping.is_set():
                if used is not None and self._token_renewed(used):
                    log.debug("mailbox %s: logging in again with a new token", self._settings.name)
                    return
                self.heartbeat.beat()
                poll_due = min(time.monotonic() + self._poll_interval, self._renewal_due())
                owned = self._owned()
                if not owned:
                    return  # every folder went to other instances: hang up, stand by
                if self._elsewhere:
                    poll_due = min(poll_due, time.monotonic() + self._takeover_interval)
                watched = self._read_all(client, owned)[1]
                if idle:
                    self._idle(client, owned[0], watched, poll_due)
                else:
                    self._wait(max(0.0, poll_due - time.monotonic()))
        except (imaplib.IMAP4.error, OSError) as exc:
            raise session_error(self._settings, exc) from exc
        finally:
            close(client)

    def _token_renewed(self, used: AccessToken) -> bool:
        """Renew the token when due; True when there is a new one to log in with."""
        assert self._tokens is not None
        if (self._tokens.renew_in() or 0.0) > 0:
            return False
        return token_for(self._settings, self._tokens) is not used

    def _renewal_due(self) -> float:
        """When (`time.monotonic()`) the token in use is due for renewal; inf without one."""
        renew_in = self._tokens.renew_in() if self._tokens is not None else None
        return math.inf if renew_in is None else time.monotonic() + renew_in

    def _owned(self) -> tuple[str, ...]:
        """The folders this instance reads now, asking for those nobody owns."""
        name, folders = self._settings.name, self._settings.folders
        owned = tuple(f for f in folders if self._duties.claim(imap_folder(name, f)))
        with self._lock:
            self._elsewhere = tuple(f for f in folders if f not in owned)
        return owned

    def _read_all(self, client: IMAPClient, folders: Sequence[str]) -> tuple[int, Cursor]:
        """Read `folders`, the first one last so that it stays selected for IDLE."""
        first, *others = folders
        reads = [self._reader.read(client, folder) for folder in (*others, first)]
        stored = sum(read.stored for read in reads)
        self._succeeded(stored, sum(read.unseen for read in reads))
        return stored, reads[-1].cursor

    def _idle(self, client: IMAPClient, folder: str, watched: Cursor, poll_due: float) -> None:
        """Wait in IDLE until the folder has news, `poll_due` passes, or the part stops."""
        # Mail that arrived while the folder was read may have been announced in replies to
        # those commands, which imapclient keeps to itself; IDLE would not announce it again.
        # Mail arriving in the instant between this search and IDLE is announced in the same
        # packet as IDLE's "+ idling", which imaplib buffers out of select's sight: it is
        # seen at the server's next line or the next poll, so `poll_interval` bounds the delay.
        if new_uids(client, watched.last_uid):
            return
        while not self._stopping.is_set() and time.monotonic() < poll_due:
            log.debug("mailbox %s: IDLE on %s", self._settings.name, folder)
            client.idle()
            news = self._idle_wait(client, min(poll_due, time.monotonic() + self._idle_refresh))
            # News may also come with the end of IDLE, before its tagged reply.
            if _has_news(client.idle_done()[1]) or news:
                return

    def _idle_wait(self, client: IMAPClient, until: float) -> bool:
        """True when the server announced new mail before `until`; False on timeout or stop."""
        assert self._waker is not None
        with selectors.DefaultSelector() as selector:
            selector.register(client.socket(), selectors.EVENT_READ, "server")
            selector.register(self._waker[0], selectors.EVENT_READ, "stop")
            while not self._stopping.is_set():
                remaining = until - time.monotonic()
                if remaining <= 0:
                    return False
                self.heartbeat.beat(remaining)
                ready = {key.data for key, _events in selector.select(remaining)}
                if "stop" in ready:
                    return False
                if "server" in ready and self._news(client):
                    return True
        return False

    def _news(self, client: IMAPClient) -> bool:
        responses = client.idle_check(timeout=0)
        if not responses:
            raise ImapError(self._settings.name, SESSION, "the server closed the connection")
        for response in responses:
            if response[0] == b"BYE":
                said = " ".join(_text(part) for part in response[1:])
                raise ImapError(self._settings.name, SESSION, f"the server said BYE: {said}")
        return _has_news(responses)

    def _succeeded(self, stored: int, unseen: int) -> None:
        now = self._clock.now()
        with self._lock:
            failures, error = self._failures, self._error
            self._last_success, self._error, self._failures, self._refused = now, None, 0, False
            self._unseen = unseen
            if stored or not unseen:
                self._unseen_since = None
            elif self._unseen_since is None:
                self._unseen_since = now
        if error is not None:
            log.info(
                "mailbox %s: reading again after %s failed attempt(s); the last was %s",
                self._settings.name,
                failures,
                error,
            )

    def _failed(self, exc: Exception) -> float:
        """Record a failure, log it if it starts an outage, and return the wait before retrying."""
        stage, detail = _describe(exc)
        refused = stage in REFUSALS
        with self._lock:
            self._failures += 1
            failures = self._failures
            # Once per outage; again only when it turns from a hiccup into a refusal.
            loud = self._error is None or (refused and not self._refused)
            self._error = f"{stage}: {detail}"
            self._refused = self._refused or refused
        delay = self._backoff.delay(failures, refused, self._rng)
        name = self._settings.name
        # The token source has logged a failing token endpoint once per outage already.
        if not loud or stage == TOKEN:
            log.debug(
                "mailbox %s: still failing: %s: %s; retry in %.1fs", name, stage, detail, delay
            )
        elif refused:
            log.error("mailbox %s: %s: %s; retrying in %.0fs", name, stage, detail, delay)
        else:
            internal = not isinstance(exc, ImapError | DatabaseUnavailable)
            log.warning(
                "mailbox %s: %s: %s; retrying with backoff",
                name,
                stage,
                detail,
                exc_info=exc if internal else None,
            )
        return delay


def _recipients(box: ImapMailboxSettings, queues: Sequence[QueueSettings]) -> tuple[str, ...]:
    """The envelope recipient: the address of the configured queue (named or addressed)."""
    if box.queue is None:
        return ()
    for queue in queues:
        if box.queue.lower() == queue.address.lower() or box.queue == queue.name:
            return (queue.address,)
    return (box.queue,)


def _describe(exc: Exception) -> tuple[str, str]:
    if isinstance(exc, ImapError):
        return exc.stage, exc.detail
    if isinstance(exc, DatabaseUnavailable):
        return "database", str(exc)
    return "internal error", repr(exc)


def _has_news(responses: Sequence[tuple[object, ...]]) -> bool:
    return any(len(response) > 1 and response[1] == b"EXISTS" for response in responses)


def _text(part: object) -> str:
    return part.decode(errors="replace") if isinstance(part, bytes) else str(part)
