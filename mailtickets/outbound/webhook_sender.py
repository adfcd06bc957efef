"""The webhook sender: posts each webhook outbox row to its receiver, with retries.

Like the mail outbox (`outbound.sender`): a row is leased, its body built once and kept,
posted outside any transaction, and the answer recorded in a transaction of its own, so a
crash repeats at most the post in hand (receivers drop a repeat by the event id). A 2xx
answer delivers; 5xx, 408, 429 and a receiver that cannot be reached are temporary and back
off from `[outgoing] retry_delay` until `[outgoing] give_up_after`; any other answer is the
receiver refusing the event, which fails for good (`mailtickets webhooks retry` sends it
again).

A receiver whose posts keep failing is rested: its rows wait, untried, until its own backoff
ends, then one is tried again; after `DOWN_AFTER` failures in a row it is reported down
(`/healthz`, `mailtickets_webhook_receiver_up`). It runs in a thread of its own, so no
receiver ever holds up mail.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy.orm import Session, sessionmaker

from mailtickets import __version__
from mailtickets.background import BackgroundLoop
from mailtickets.clock import Clock
from mailtickets.config.settings import WebhookSettings
from mailtickets.db.lease import MAX_ERROR, backoff, lease_batch, release
from mailtickets.db.models import WebhookDelivery, WebhookStatus
from mailtickets.errors import WebhookRefused
from mailtickets.outbound.webhook_body import body, signed_headers

log = logging.getLogger(__name__)

#: Rows leased in one transaction; each is still posted and recorded on its own.
BATCH = 16
#: Failed attempts in a row after which a receiver is reported down.
DOWN_AFTER = 3
#: How long one post may take, connecting included.
TIMEOUT = timedelta(seconds=10)
#: How much of a receiver's error answer is kept.
EXCERPT = 200
#: Answers after which the same post may well succeed later.
_TEMPORARY = {408, 429}


@dataclass(frozen=True)
class Posted:
    """How one attempt ended: the row's status afterwards, and the error if any."""

    receiver: str
    event_type: str
    status: WebhookStatus
    error: str | None = None
    attempts: int = 0


@dataclass
class Outage:
    """A receiver failing since `since`: not tried again before `until`."""

    since: datetime
    failures: int
    error: str
    until: datetime

    @property
    def down(self) -> bool:
        return self.failures >= DOWN_AFTER


def client(transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """The HTTP client posts go through: no redirects (the URL configured is the one
    trusted with the events), a timeout on every step."""
    return httpx.Client(
        transport=transport,
        timeout=httpx.Timeout(TIMEOUT.total_seconds()),
        follow_redirects=False,
        headers={"User-Agent": f"mailtickets/{__version__}"},
    )


def post(
    http: httpx.Client, hook: WebhookSettings, payload: str, event_type: str, now: datetime
) -> str | None:
    """Post `payload` to `hook`, signed as of `now`; None when the receiver took it, else
    why not (a temporary failure). `WebhookRefused` when the receiver refused it for good.
    """
    raw = payload.encode()
    headers = signed_headers(raw, hook.secret, int(now.timestamp()), event_type)
    try:
        # Streamed: of a receiver's answer only its first words are read (see `_excerpt`).
        with http.stream("POST", hook.url, content=raw, headers=headers) as answer:
            if answer.is_success:
                return None
            said = f"answered {answer.status_code} {answer.reason_phrase}".rstrip()
            excerpt = _excerpt(answer)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    why = f"{said}: {excerpt}" if excerpt else said
    if answer.status_code >= 500 or answer.status_code in _TEMPORARY:
        return why
    raise WebhookRefused(why)


def _excerpt(answer: httpx.Response) -> str:
    """The start of an error answer, for the operator: never the whole of what a receiver
    may send back."""
    start = b""
    for chunk in answer.iter_bytes():
        start += chunk
        if len(start) >= EXCERPT:
            break
    return start[:EXCERPT].decode("utf-8", "replace").strip()


def _fail(session: Session, row: WebhookDelivery, reason: str) -> Posted:
    release(session, row)
    row.status, row.last_error = WebhookStatus.FAILED, reason[:MAX_ERROR]
    return Posted(row.receiver, row.type, row.status, reason, row.attempts)


def _logged(row_id: int, posted: Posted | None) -> Posted | None:
    """Say how an attempt ended, once its transaction is committed."""
    if posted is None:
        pass
    elif posted.status is WebhookStatus.SENT:
        log.info("webhook #%s %s sent to %s", row_id, posted.event_type, posted.receiver)
    elif posted.status is WebhookStatus.FAILED:
        log.error(
            "webhook #%s %s to %s failed: %s",
            row_id,
            posted.event_type,
            posted.receiver,
            posted.error,
        )
    else:
        log.warning(
            "webhook #%s to %s deferred (attempt %s): %s",
            row_id,
            posted.receiver,
            posted.attempts,
            posted.error,
        )
    return posted


class WebhookSender(BackgroundLoop):
    """A daemon part: a thread that posts webhook outbox rows as they come due."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        hooks: tuple[WebhookSettings, ...],
        clock: Clock,
        *,
        retry_delay: timedelta,
        give_up_after: timedelta,
        holder: str,
        http: httpx.Client | None = None,
        poll_seconds: float = 5.0,
        after_post: Callable[[Posted], None] = lambda posted: None,
    ) -> None:
        super().__init__("webhook sender", poll_seconds)
        self._sessions, self._clock, self._holder = sessions, clock, holder
        self._hooks = {hook.name: hook for hook in hooks}
        self._retry_delay, self._give_up_after = retry_delay, give_up_after
        self._http = http or client()
        self._after_post = after_post
        self._lock = threading.Lock()  # outages are read by /healthz and /metrics
        self._outages: dict[str, Outage] = {}

    def receivers(self) -> list[str]:
        return list(self._hooks)

    def is_down(self, receiver: str) -> bool:
        with self._lock:
            outage = self._outages.get(receiver)
        return outage is not None and outage.down

    def trouble(self) -> str | None:
        with self._lock:
            down = [(name, o) for name, o in self._outages.items() if o.down]
        return (
            "; ".join(
                f"webhook {name} down since {o.since:%Y-%m-%d %H:%M:%S} UTC after {o.failures} "
                f"failed attempts: {o.error}"
                for name, o in down
            )
            or None
        )

    def work_once(self) -> bool:
        """Post the due rows of receivers not resting; False when there were none."""
        now = self._clock.now()
        with self._lock:
            resting = [name for name, o in self._outages.items() if o.until > now]
        # The post happens outside any transaction: the lease outlasts a slow receiver, or
        # another instance could post the same row meanwhile.
        hold = max(self._retry_delay, 4 * TIMEOUT)
        leased = lease_batch(
            self._sessions,
            WebhookDelivery,
            now,
            hold,
            BATCH,
            holder=self._holder,
            where=WebhookDelivery.receiver.not_in(resting) if resting else None,
        )
        for row_id in leased:
            self.heartbeat.beat()
            if self._clock.now() - now > hold / 2:
                # The rest wait out their lease rather than risk a second instance posting
                # them too while a slow receiver keeps this one busy.
                break
            posted = self._deliver(row_id)
            if posted is not None:
                self._after_post(posted)
        return bool(leased)

    def _deliver(self, row_id: int) -> Posted | None:
        prepared = self._prepare(row_id)
        if prepared is None or isinstance(prepared, Posted):
            return _logged(row_id, prepared)
        hook, payload, event_type = prepared
        try:
            error = post(self._http, hook, payload, event_type, self._clock.now())
        except WebhookRefused as exc:
            return _logged(row_id, self._finish(row_id, f"refused: {exc}"))
        if error is None:
            return _logged(row_id, self._finish(row_id, None))
        return _logged(row_id, self._retry(row_id, hook.name, error))

    def _prepare(self, row_id: int) -> tuple[WebhookSettings, str, str] | Posted | None:
        """What to post for row `row_id`; how it ended without posting; None when it is
        not ours to post now (its receiver resting, or finished meanwhile)."""
        now = self._clock.now()
        with self._sessions.begin() as session:
            row = session.get_one(WebhookDelivery, row_id, with_for_update=True)
            if row.status is not WebhookStatus.PENDING:
                return None
            hook = self._hooks.get(row.receiver)
            if hook is None:
                return _fail(session, row, f"no [[webhook]] named {row.receiver} any more")
            if now - row.created_at > self._give_up_after:
                return _fail(session, row, f"gave up after {self._give_up_after}")
            with self._lock:
                outage = self._outages.get(row.receiver)
            if outage is not None and outage.until > now:
                # Leased with others before its receiver failed: it waits with the rest,
                # and the lease's attempt does not count.
                release(session, row)
                row.attempts -= 1
                row.next_attempt_at = outage.until
                return None
            if row.body is None:
                row.body = body(session, row, hook.format)
            return hook, row.body, row.type

    def _finish(self, row_id: int, refusal: str | None) -> Posted:
        """Record an answer: the event taken, or refused for good (`refusal`)."""
        now = self._clock.now()
        with self._sessions.begin() as session:
            row = session.get_one(WebhookDelivery, row_id)
            if refusal is not None:
                posted = _fail(session, row, refusal)
            else:
                release(session, row)
                row.status, row.sent_at, row.last_error = WebhookStatus.SENT, now, None
                # Only a retry needs the body, and it holds the whole ticket: not kept for
                # every event of a long conversation.
                row.body = None
                posted = Posted(row.receiver, row.type, row.status, attempts=row.attempts)
        # A refusal is an answer: the receiver is up, whatever it thought of the event.
        self._up(posted.receiver)
        return posted

    def _retry(self, row_id: int, receiver: str, error: str) -> Posted:
        now = self._clock.now()
        outage = self._failed(receiver, error, now)
        with self._sessions.begin() as session:
            row = session.get_one(WebhookDelivery, row_id)
            release(session, row)
            row.last_error = error[:MAX_ERROR]
            row.next_attempt_at = max(now + backoff(self._retry_delay, row.attempts), outage.until)
            if row.next_attempt_at - row.created_at > self._give_up_after:
                return _fail(session, row, f"gave up after {row.attempts} attempts: {error}")
            return Posted(receiver, row.type, row.status, error, row.attempts)

    def _failed(self, receiver: str, error: str, now: datetime) -> Outage:
        with self._lock:
            outage = self._outages.get(receiver) or Outage(now, 0, error, now)
            outage.failures += 1
            outage.error, outage.until = error, now + backoff(self._retry_delay, outage.failures)
            self._outages[receiver] = outage
        if outage.failures == DOWN_AFTER:
            log.error(
                "webhook %s is down: %s failed attempts, last: %s", receiver, DOWN_AFTER, error
            )
        return outage

    def _up(self, receiver: str) -> None:
        with self._lock:
            outage = self._outages.pop(receiver, None)
        if outage is not None and outage.down:
            log.warning("webhook %s answers again after %s failures", receiver, outage.failures)

    def close(self) -> None:
        self._http.close()
