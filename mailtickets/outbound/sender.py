"""The outbox sender: renders, delivers and records each outgoing message, with retries.

A row is leased, rendered once (the bytes are kept, so every retry sends the same message
with the same Message-ID), delivered outside any transaction, and its result recorded. Rows
due together are leased and rendered together, one transaction for each step, and sent
over `[outgoing] connections` side by side, each on the first connection free: the next rows
are leased while the last ones are still with the relay. Each send is still recorded in a
transaction of its own, so a crash can repeat at most the one send in flight on each
connection. A
5xx answer fails the message (or the recipients it names) for good: the ticket records it
and the agents are told; only an answer about the recipient (5.1.x) suppresses the address.
A 5xx about the relay itself (`mail.refusals`, `outbound.refusals`) holds the message like a
temporary failure, suppresses nobody, and is logged once per outage. Temporary failures back
off until `give_up_after`.

At about 400 lines it stays one module: preparing, sending and recording one row share the
row's state and the transaction rules above; what could stand alone (rendering, composing,
files, refusals, the transport) already does.
"""

from __future__ import annotations

import logging
import queue
import re
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as all_done
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jinja2 import Environment
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailtickets.background import BackgroundLoop
from mailtickets.clock import Clock
from mailtickets.config.settings import AgentSettings, OutgoingSettings, QueueSettings
from mailtickets.db.base import reading
from mailtickets.db.lease import MAX_ERROR, lease_batch, release
from mailtickets.db.models import HELD, EventKind, OutboundMessage, OutboundStatus, Ticket
from mailtickets.errors import PermanentFailure, RelayRefused, TemporaryFailure
from mailtickets.mail.refusals import ALIKE_WITHIN, Blame, blame
from mailtickets.mail.tokens import marker
from mailtickets.outbound.charts import draw_all
from mailtickets.outbound.compose import address, compose
from mailtickets.outbound.files import with_files
from mailtickets.outbound.refusals import RecentRefusals
from mailtickets.outbound.render import render
from mailtickets.outbound.transport import Delivery, Transport
from mailtickets.outbox.context import ticket_context
from mailtickets.outbox.notices import notify_agents
from mailtickets.services import contacts
from mailtickets.services.tickets import record

log = logging.getLogger(__name__)

_STATUS = re.compile(r"\b[245]\.\d{1,3}\.\d{1,3}\b")  # RFC 3463 enhanced status code
#: Rows leased in one transaction; each is still rendered, sent and recorded on its own.
BATCH = 16


@dataclass(frozen=True)
class SenderConfig:
    outgoing: OutgoingSettings
    subject_prefix: str
    secret: bytes
    queues: tuple[QueueSettings, ...]
    agents: tuple[AgentSettings, ...]


@dataclass(frozen=True)
class Attempt:
    """How one delivery attempt ended: status afterwards, and the error if any."""

    status: OutboundStatus
    error: str | None = None
    #: The relay's answer when it refused for reasons of its own: the message is held.
    held: str | None = None


@dataclass(frozen=True)
class Prepared:
    raw: bytes
    envelope_from: str
    recipients: list[str]
    #: The last attempt was held by the relay's refusal.
    was_held: bool = False
    #: The files the row names (`OutboundMessage.attachments`), read only when sending.
    files: tuple[dict[str, Any], ...] = ()


def prepare(
    sessions: sessionmaker[Session],
    outbound_ids: list[int],
    env: Environment,
    config: SenderConfig,
    now: datetime,
) -> list[Prepared | Attempt]:
    """Render leased outbox rows and keep their bytes, in one transaction: for each, what to
    send, or how it ended without sending (finished elsewhere, suppressed, given up,
    unrenderable).

    The rendering itself happens before that transaction, outside it: on SQLite a
    transaction holds the one write lock, which the intake and the worker wait for.
    """
    drafts = _drafts(sessions, outbound_ids, env, config, now)
    ready: list[Prepared | Attempt] = []
    with sessions.begin() as session:
        query = select(OutboundMessage).where(OutboundMessage.id.in_(outbound_ids))
        rows = {row.id: row for row in session.scalars(query.with_for_update())}
        # Asked once for the batch, before any row changes: rendering sets each row's bytes,
        # and a query between two renders would flush them one UPDATE at a time.
        addresses = [r for row in rows.values() for r in row.recipients]
        blocked = contacts.suppressed(session, addresses)
        for outbound_id in outbound_ids:
            row = rows.get(outbound_id)
            if row is None:
                raise LookupError(f"no outbox #{outbound_id}")
            if row.status is not OutboundStatus.PENDING:  # finished by someone else meanwhile
                ready.append(Attempt(row.status, row.last_error))
                continue
            prepared = _prepare(session, row, drafts, env, config, now, blocked)
            ready.append(prepared or Attempt(row.status, row.last_error))
    return ready


def _drafts(
    sessions: sessionmaker[Session],
    outbound_ids: list[int],
    env: Environment,
    config: SenderConfig,
    now: datetime,
) -> dict[int, bytes | Exception]:
    """The leased rows not rendered yet, rendered: their bytes, or why they cannot be."""
    with reading(sessions) as session:
        query = select(OutboundMessage).where(
            OutboundMessage.id.in_(outbound_ids), OutboundMessage.raw.is_(None)
        )
        rows = list(session.scalars(query))
    return {row.id: _draft(row, env, config, now) for row in rows}


def _draft(
    row: OutboundMessage, env: Environment, config: SenderConfig, now: datetime
) -> bytes | Exception:
    """The row's bytes, or why it cannot be rendered."""
    try:
        return _render(row, _queue(row, config), env, config, now)
    except Exception as exc:  # noqa: BLE001  (a broken template: permanent until fixed)
        return exc


def send(
    sessions: sessionmaker[Session],
    outbound_id: int,
    prepared: Prepared,
    transport: Transport,
    config: SenderConfig,
    now: datetime,
    refusals: RecentRefusals,
) -> Attempt:
    """Deliver one prepared outbox row and record how it went."""
    try:
        raw = with_files(sessions, outbound_id, prepared.raw, prepared.files)
        delivery = transport.send(raw, prepared.envelope_from, prepared.recipients)
    except RelayRefused as exc:
        waiting = _temporary(sessions, outbound_id, HELD + str(exc), config, now)
        return Attempt(waiting.status, waiting.error, held=str(exc))
    except TemporaryFailure as exc:
        return _temporary(sessions, outbound_id, str(exc), config, now)
    except PermanentFailure as exc:
        with sessions.begin() as session:
            row = session.get_one(OutboundMessage, outbound_id)
            release(session, row)
            # The message itself was refused (content, policy): no address is to blame.
            _fail(session, row, str(exc), [], config, now)
            return Attempt(row.status, str(exc))
    with sessions.begin() as session:
        row = session.get_one(OutboundMessage, outbound_id)
        release(session, row)
        return _record(session, row, delivery, refusals.judge(delivery.refused, now), config, now)


def _record(
    session: Session,
    row: OutboundMessage,
    delivery: Delivery,
    verdicts: dict[str, Blame],
    config: SenderConfig,
    now: datetime,
) -> Attempt:
    """Record a delivery the relay answered recipient by recipient."""
    held = {r: a for r, a in delivery.refused.items() if verdicts[r] is Blame.RELAY}
    failed = delivery.unsendable | {r: a for r, a in delivery.refused.items() if r not in held}
    for recipient, answer in failed.items():
        if verdicts.get(recipient) is Blame.RECIPIENT:
            contacts.suppress_refused(session, recipient, answer, now)
    # An answer taken for the recipient's fault until the relay gave it to another one too.
    since = now - ALIKE_WITHIN
    for answer in {a for a in held.values() if blame(a) is not Blame.RELAY}:
        for lifted in contacts.lift_relay_refusals(session, now, same_as=answer, since=since):
            log.warning("%s no longer suppressed: the relay gave others the same answer", lifted)
    reasons = "; ".join(f"{r}: {a}" for r, a in failed.items())
    if failed:
        _report(session, row, reasons, list(failed), config, now)
    if held or delivery.deferred:
        # The same bytes go again later, to these recipients only.
        row.recipients = [*held, *delivery.deferred]
        if held:
            row.last_error = _short(HELD + "; ".join(f"{r}: {a}" for r, a in held.items()))
            log.debug("outbox #%s held (attempt %s): %s", row.id, row.attempts, row.last_error)
            return Attempt(row.status, row.last_error, held=next(iter(held.values())))
        row.last_error = _short(f"deferred by the relay: {', '.join(delivery.deferred)}")
        return Attempt(row.status, row.last_error)
    if delivery.accepted:
        # What the others' refusals said stays in view (`outbox show`, `tickets show`).
        row.status, row.sent_at, row.last_error = OutboundStatus.SENT, now, _short(reasons) or None
        log.info("outbox #%s sent, message-id %s", row.id, row.message_id)
    else:
        row.status, row.last_error = OutboundStatus.FAILED, _short(reasons)
    return Attempt(row.status, row.last_error)


def _prepare(
    session: Session,
    row: OutboundMessage,
    drafts: dict[int, bytes | Exception],
    env: Environment,
    config: SenderConfig,
    now: datetime,
    blocked: dict[str, str],
) -> Prepared | None:
    """The bytes to send and to whom; None when the row failed before sending.

    `blocked`: the suppressed addresses among the batch's recipients, with the reason;
    `drafts`: the rows' bytes rendered beforehand (a row changed since is rendered here).
    """
    if now - row.created_at > config.outgoing.give_up_after:
        _fail(session, row, f"gave up after {config.outgoing.give_up_after}", [], config, now)
        return None
    recipients = [r for r in row.recipients if r not in blocked]
    if not recipients:
        reasons = "; ".join(f"{r}: {blocked[r]}" for r in row.recipients)
        row.status, row.last_error = OutboundStatus.FAILED, _short(f"suppressed: {reasons}")
        return None
    queue = _queue(row, config)
    if row.raw is None:
        draft = drafts[row.id] if row.id in drafts else _draft(row, env, config, now)
        if isinstance(draft, Exception):
            log.error("outbox #%s cannot be rendered", row.id, exc_info=draft)
            _fail(session, row, f"cannot render {row.template}: {draft}", [], config, now)
            return None
        row.raw = draft
    redirect = config.outgoing.redirect_all_to
    held = (row.last_error or "").startswith(HELD)
    targets = [redirect] if redirect else recipients
    return Prepared(row.raw, queue.address, targets, held, tuple(row.attachments or ()))


def _queue(row: OutboundMessage, config: SenderConfig) -> QueueSettings:
    wanted = str(row.context.get("queue", {}).get("address", "")).lower()
    return next((q for q in config.queues if q.address.lower() == wanted), config.queues[0])


def _render(
    row: OutboundMessage,
    queue: QueueSettings,
    env: Environment,
    config: SenderConfig,
    now: datetime,
) -> bytes:
    ticket_id = row.ticket_id or 0
    rendered = render(env, row.template, row.locale, row.context)
    tag = str(row.context.get("ticket", {}).get("tag", ""))
    return compose(
        template=row.template,
        rendered=rendered,
        tag=tag,
        marker=marker(config.secret, ticket_id) if ticket_id else "",
        sender=address(queue.address, queue.name),
        recipients=row.recipients,
        message_id=row.message_id,
        date=now,
        loop_domain=queue.address.rpartition("@")[2],
        reply_to=row.context.get("reply_to"),
        in_reply_to=row.in_reply_to,
        references=row.references,
        redirect_to=config.outgoing.redirect_all_to,
        images=draw_all(row.context.get("charts") or {}, row.locale) if rendered.html else [],
    )


def _temporary(
    sessions: sessionmaker[Session],
    outbound_id: int,
    reason: str,
    config: SenderConfig,
    now: datetime,
) -> Attempt:
    with sessions.begin() as session:
        row = session.get_one(OutboundMessage, outbound_id)
        release(session, row)
        row.last_error = _short(reason)
        # A held message is one of many the relay refuses alike: the loop says so once.
        level = logging.DEBUG if reason.startswith(HELD) else logging.WARNING
        log.log(level, "outbox #%s deferred (attempt %s): %s", row.id, row.attempts, reason)
        if row.next_attempt_at - row.created_at > config.outgoing.give_up_after:
            _fail(session, row, f"gave up after {row.attempts} attempts: {reason}", [], config, now)
        return Attempt(row.status, row.last_error)


def _fail(
    session: Session,
    row: OutboundMessage,
    reason: str,
    refused: list[str],
    config: SenderConfig,
    now: datetime,
) -> None:
    row.status, row.last_error = OutboundStatus.FAILED, _short(reason)
    log.error("outbox #%s failed: %s", row.id, reason)
    _report(session, row, reason, refused, config, now)


def _report(
    session: Session,
    row: OutboundMessage,
    reason: str,
    refused: list[str],
    config: SenderConfig,
    now: datetime,
) -> None:
    """Record a failure on the ticket; for customer mail, tell the agents."""
    ticket = session.get(Ticket, row.ticket_id) if row.ticket_id else None
    if ticket is None:
        return
    record(
        session,
        ticket,
        EventKind.DELIVERY_FAILED,
        now,
        None,
        outbound=row.id,
        reason=_short(reason),
    )
    if not row.template.startswith("customer/"):
        return  # mail about failed mail to agents would only fail again
    status = _STATUS.search(reason)
    failure = {
        "recipient": ", ".join(refused or row.recipients),
        "status": status.group(0) if status else "",
        "reason": reason,
    }
    context = ticket_context(session, ticket, config.subject_prefix, failure=failure)
    notify_agents(
        session,
        ticket,
        "agent/delivery_failed",
        context,
        queues=config.queues,
        agents=config.agents,
        secret=config.secret,
        now=now,
    )


def _short(text: str) -> str:
    return text[:MAX_ERROR]


class OutboxSender(BackgroundLoop):
    """A daemon part: a thread that delivers outbox rows as they come due, over one or more
    connections to the relay (`[outgoing] connections`), one message on each at a time."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        transports: Sequence[Transport],
        env: Environment,
        config: SenderConfig,
        clock: Clock,
        poll_seconds: float = 5.0,
        *,
        holder: str,
        after_delivery: Callable[[Attempt], None] = lambda attempt: None,
    ) -> None:
        super().__init__("outbox sender", poll_seconds)
        self._sessions, self._env = sessions, env
        self._config, self._clock = config, clock
        self._transports = tuple(transports)
        self._idle: queue.SimpleQueue[tuple[Transport, str]] = queue.SimpleQueue()
        for number, transport in enumerate(self._transports, start=1):
            # One connection beats as the loop itself; several each under their own name.
            activity = f"connection {number}" if len(self._transports) > 1 else ""
            transport.watch(self.heartbeat, activity)
            self._idle.put((transport, activity))
        #: Several connections send side by side: each waits for the relay's answer to its
        #: final dot while the others send (the relay's own fsync, a content filter).
        self._pool = (
            ThreadPoolExecutor(len(self._transports), thread_name_prefix="outbox connection")
            if len(self._transports) > 1
            else None
        )
        self._submit = self._pool.submit if self._pool is not None else _inline
        #: The sends handed out and not yet recorded here, with what each sends.
        self._sending: dict[Future[Attempt | None], Prepared] = {}
        # The sends happen outside any transaction, so the lease must outlast a slow relay:
        # a shorter one would let another instance send the same row again meanwhile.
        self._hold = max(config.outgoing.retry_delay, 4 * config.outgoing.timeout)
        #: Whose leases this sender takes: this instance's (`Duties.name`).
        self._holder = holder
        #: Called after each delivery attempt (metrics).
        self._after_delivery = after_delivery
        self._relay_error: str | None = None  # until the next success
        self._refusals = RecentRefusals()
        #: The relay's answer while it refuses for reasons of its own: until a message it
        #: held goes through.
        self._held: str | None = None

    def work_once(self) -> bool:
        """Record what the connections finished, then lease, render and hand out the due
        rows (one, when retrying) while connections are free; False when there was nothing
        to hand out (sends may still be under way: each one done wakes the loop).

        The connections do not wait for each other: a row leased while the others of the
        last batch are still with the relay goes out on the first connection free, so an
        acknowledgement waits for one send, not for a whole batch.
        """
        self._settle(wait=False)
        # Rows handed out to the connections but not yet sent stay few (two for each), so a
        # row leased later is sent soon after; one connection sends the batch itself.
        room = BATCH if self._pool is None else 2 * len(self._transports) - len(self._sending)
        if room <= 0:
            return False
        started = self._clock.now()
        leased = lease_batch(
            self._sessions, OutboundMessage, started, self._hold, room, holder=self._holder
        )
        if not leased:
            return False
        ready = prepare(self._sessions, leased, self._env, self._config, started)
        if self._pool is not None:
            # The connections beat for themselves while this thread waits for them.
            self.heartbeat.rest("")
        for outbound_id, prepared in zip(leased, ready, strict=True):
            if isinstance(prepared, Attempt):
                self._finished(prepared, prepared)
                continue
            future = self._submit(self._deliver, outbound_id, prepared, started)
            self._sending[future] = prepared
            future.add_done_callback(lambda _: self.wake())
        self._settle(wait=False)
        return True

    def _deliver(self, outbound_id: int, prepared: Prepared, started: datetime) -> Attempt | None:
        """Send one row on the first free connection; None when it was left to its lease."""
        transport, activity = self._idle.get()
        try:
            # A relay may take minutes to answer the final dot: the transport says when.
            self.heartbeat.beat(activity=activity)
            now = self._clock.now()
            if now - started > self._hold / 2:
                # Left to wait out its lease rather than risk being sent twice; its bytes
                # are kept, so it goes out unchanged.
                return None
            return send(
                self._sessions,
                outbound_id,
                prepared,
                transport,
                self._config,
                now,
                self._refusals,
            )
        finally:
            if activity:
                self.heartbeat.rest(activity)
            self._idle.put((transport, activity))

    def _settle(self, wait: bool) -> None:
        """Record the sends that are done (with `wait`, once all are)."""
        if wait:
            all_done(self._sending)
        for future in [f for f in self._sending if f.done()]:
            self._finished(self._sending.pop(future), future.result())

    def _finished(self, prepared: Prepared | Attempt, attempt: Attempt | None) -> None:
        if attempt is None:
            return
        if isinstance(prepared, Prepared):
            self._watch_refusals(prepared, attempt)
        # A temporary failure means the relay (or the maildir) is unusable until a success.
        self._relay_error = attempt.error if attempt.status is OutboundStatus.PENDING else None
        self._after_delivery(attempt)

    def _watch_refusals(self, prepared: Prepared, attempt: Attempt) -> None:
        """Say once when the relay starts refusing for reasons of its own, once when a
        message it held goes through (others it refused go on, unheld, meanwhile)."""
        if attempt.held is not None:
            if self._held is None:
                log.error("%s", self._refusing(attempt.held))
            self._held = attempt.held
        elif (
            self._held is not None
            and prepared.was_held
            and attempt.status is not OutboundStatus.PENDING
        ):
            log.warning("relay %s takes held mail again; the outbox resumes", self._where)
            self._held = None

    def _refusing(self, answer: str) -> str:
        return (
            f"relay {self._where} refuses mail for reasons of its own ({answer}): outgoing "
            "mail is held and nobody is suppressed; fix the relay, then run "
            "`mailtickets outbox retry --all`"
        )

    @property
    def _where(self) -> str:
        return f"{self._config.outgoing.host}:{self._config.outgoing.port}"

    def trouble(self) -> str | None:
        held = self._held
        return self._refusing(held) if held is not None else self._relay_error

    def close(self) -> None:
        """Release the relay connections kept between messages."""
        # The sends handed out are finished and recorded before the connections close.
        try:
            self._settle(wait=True)
        except Exception:  # the database away: the row waits out its lease and goes again
            log.exception("outbox sender: a last send could not be recorded")
        finally:
            if self._pool is not None:
                self._pool.shutdown()
            for transport in self._transports:
                transport.close()


def _inline(deliver: Callable[..., Attempt | None], *args: Any) -> Future[Attempt | None]:
    """One connection: the row is sent in the loop's own thread, at once."""
    done: Future[Attempt | None] = Future()
    done.set_result(deliver(*args))
    return done
