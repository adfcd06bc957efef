"""The composition root: builds the engine, sessions and services from settings.

Only this module knows every part; everything else receives what it needs explicitly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from jinja2 import Environment
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from mailtickets.clock import Clock, SystemClock
from mailtickets.config import Settings
from mailtickets.db import migrate
from mailtickets.db.base import make_engine, session_factory
from mailtickets.db.models import InboundMessage, IntakeStatus, OutboundStatus, WebhookStatus
from mailtickets.db.ownership import Duties
from mailtickets.errors import ConfigError, ImapError
from mailtickets.health import Part
from mailtickets.ingest.intake import Accepted, Arrival, Envelope, GroupCommit
from mailtickets.ingest.smtp import SmtpListener
from mailtickets.keyfile import load_or_create_key
from mailtickets.metrics import Metrics
from mailtickets.oauth2 import TokenSource, mailbox_tokens, relay_tokens
from mailtickets.outbound.render import environment
from mailtickets.outbound.sender import Attempt, OutboxSender, SenderConfig
from mailtickets.outbound.transport import transport_for
from mailtickets.outbox import webhooks
from mailtickets.outcomes import Outcome
from mailtickets.pipeline.context import PipelineConfig
from mailtickets.pipeline.worker import IngestWorker, Processed
from mailtickets.scheduler import Job, Scheduler
from mailtickets.services import floods, held
from mailtickets.services.directory import sync_directory
from mailtickets.services.oncall import escalate
from mailtickets.services.retention import EVERY, purge_raw
from mailtickets.services.sla.policy import SlaConfig

if TYPE_CHECKING:
    from mailtickets.ingest.imap import ImapPoller
    from mailtickets.outbound.webhook_sender import Posted, WebhookSender

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class App:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock
    secret: bytes
    sla: SlaConfig
    pipeline: PipelineConfig
    sender: SenderConfig
    templates: Environment


def build_app(settings: Settings, clock: Clock | None = None) -> App:
    """Everything the daemon and the CLI work with; checks that the schema is current.

    It creates no database: a missing one is an error that says to run `db upgrade`.
    """
    engine = make_engine(settings.database.url, create=False)
    migrate.ensure_current(engine)
    secret = settings.tickets.secret or load_or_create_key(settings.storage.dir)
    sessions = session_factory(engine)
    webhooks.subscribe(sessions, settings.webhooks)
    with sessions.begin() as session:
        sync_directory(session, settings.queues, settings.agents)
    templates = environment(settings.templates.dir)
    sla = SlaConfig.from_settings(settings, secret)
    pipeline = PipelineConfig.from_settings(settings, secret, templates, sla)
    sender = SenderConfig(
        settings.outgoing,
        settings.tickets.subject_prefix,
        secret,
        settings.queues,
        settings.agents,
    )
    return App(
        settings, engine, sessions, clock or SystemClock(), secret, sla, pipeline, sender, templates
    )


def daemon_parts(app: App, metrics: Metrics, duties: Duties) -> list[Part]:
    """The parts `mailtickets run` starts, edges last so they stop first.

    `duties` says which instance runs the scheduled duties and reads each IMAP folder.
    """
    storage = app.settings.storage.dir
    relay = relay_tokens(app.settings.outgoing, storage, app.clock)
    mailboxes = {
        box.name: source
        for box in app.settings.imap
        if (source := mailbox_tokens(box, storage, app.clock)) is not None
    }
    outgoing = app.settings.outgoing
    sender = OutboxSender(
        app.sessions,
        [
            transport_for(outgoing, relay)
            for _ in range(outgoing.connections if outgoing.host else 1)
        ],
        app.templates,
        app.sender,
        app.clock,
        holder=duties.name,
        after_delivery=lambda attempt: _count_delivery(metrics, attempt),
    )
    hooks = _webhooks(app, metrics, duties)

    def wake_senders() -> None:
        """Work was committed that may have queued mail and webhook events."""
        for part in (sender, *hooks):
            part.wake()

    def processed(result: Processed) -> None:
        if result.received_at is not None:
            metrics.observe_processed(
                result.outcome or Outcome.RETRY, result.received_at, app.clock.now()
            )
        if result.status is IntakeStatus.QUARANTINED:
            _quarantine_in_mailbox(app, result.intake_id, mailboxes)
        wake_senders()

    worker = IngestWorker(
        app.sessions,
        app.pipeline,
        app.settings.ingest,
        app.clock,
        holder=duties.name,
        after_message=processed,
    )

    # Concurrent SMTP sessions share their commits (and fsyncs); each 250 still follows its own.
    intake = GroupCommit(app.sessions)

    def store_all(arrivals: Sequence[Arrival]) -> list[Accepted]:
        accepted = intake.accept_all(arrivals)
        for arrival, result in zip(arrivals, accepted, strict=True):
            counter = metrics.duplicates if result.duplicate else metrics.received
            counter.labels(arrival.envelope.source).inc()
        return accepted

    def store(raw: bytes, envelope: Envelope, trace: bytes) -> Accepted:
        return store_all([Arrival(raw, envelope, app.clock.now(), trace)])[0]

    listeners: list[Part] = [
        SmtpListener(listener, app.settings.queues, store, app.clock, on_accepted=worker.wake)
        for listener in app.settings.smtp
    ]
    # Through `store_all`, so that IMAP mail is counted like SMTP mail and each batch shares
    # the SMTP intake's commits instead of racing them for the database.
    pollers = _pollers(app, duties, mailboxes, store_all, worker.wake)
    metrics.watch_mailboxes(
        (box.name, poller.last_success)
        for box, poller in zip(app.settings.imap, pollers, strict=True)
    )
    scheduler = Scheduler(
        app.sessions,
        app.sla,
        app.settings.scheduler,
        app.clock,
        wake_senders,
        jobs=[*_retention(app), *_on_call(app), _held_replies(app), _flood_summaries(app)],
        duties=duties,
        takeover_interval=app.settings.daemon.takeover_interval,
    )
    tokens = [*([relay] if relay is not None else []), *mailboxes.values()]
    metrics.watch_tokens(tokens)
    # The webhook sender stops last: the others' last commits may have queued events.
    parts: list[Part] = [*hooks, sender, worker, scheduler, *listeners, *pollers]
    api = app.settings.api
    if app.settings.metrics.listen is None and api.listen is None:
        return parts
    # Imported only here: every command builds the app, and an MTA's pipe or `tickets list`
    # must not pay for loading the web stack.
    from mailtickets.endpoint import Site, servers
    from mailtickets.endpoint.api import ApiContext

    site = Site(
        metrics_listen=app.settings.metrics.listen,
        api_listen=api.listen,
        # The tokens are not parts (nothing to start) but /healthz says when one fails.
        reporters=[*parts, *tokens],
        metrics=metrics,
        api=ApiContext(app.sessions, app.clock, app.pipeline, api.tokens, wake_senders),
    )
    # First to start, last to stop: requests in progress finish before the workers do.
    return [*servers(site), *parts]


def _pollers(
    app: App,
    duties: Duties,
    tokens: Mapping[str, TokenSource],
    store_all: Callable[[Sequence[Arrival]], list[Accepted]],
    on_accepted: Callable[[], None],
) -> list[ImapPoller]:
    """A poller for each `[[imap]]` mailbox; the IMAP client is imported only for a site
    that has one (it costs the daemon about 10 MiB resident)."""
    if not app.settings.imap:
        return []
    from mailtickets.ingest.imap import ImapPoller

    return [
        ImapPoller(
            box,
            app.sessions,
            app.clock,
            queues=app.settings.queues,
            on_accepted=on_accepted,
            accept=lambda _sessions, arrivals: store_all(arrivals),
            duties=duties,
            takeover_interval=app.settings.daemon.takeover_interval,
            tokens=tokens.get(box.name),
        )
        for box in app.settings.imap
    ]


def _held_replies(app: App) -> Job:
    """Held answers nobody decided on expire, their agents told; checked as often as SLAs."""

    def expire() -> int:
        prefix = app.settings.tickets.subject_prefix
        return held.expire(app.sessions, app.secret, prefix, app.clock.now())

    return ("held replies", app.settings.scheduler.sweep_interval, expire)


def _webhooks(app: App, metrics: Metrics, duties: Duties) -> list[WebhookSender]:
    """The webhook sender, when `[[webhook]]` names receivers (its HTTP client is imported
    only then)."""
    if not app.settings.webhooks:
        return []
    from mailtickets.outbound.webhook_sender import WebhookSender

    sender = WebhookSender(
        app.sessions,
        app.settings.webhooks,
        app.clock,
        retry_delay=app.settings.outgoing.retry_delay,
        give_up_after=app.settings.outgoing.give_up_after,
        holder=duties.name,
        after_post=lambda posted: _count_post(metrics, posted),
    )
    metrics.watch_webhooks(sender.receivers(), sender.is_down)
    return [sender]


def _count_post(metrics: Metrics, posted: Posted) -> None:
    result = "temporary" if posted.status is WebhookStatus.PENDING else posted.status.value
    metrics.webhook_posts.labels(posted.receiver, result).inc()


def _retention(app: App) -> list[Job]:
    """The purge of old raw mail, when `[retention] raw_messages` asks for one."""
    older_than = app.settings.retention.raw_messages
    if older_than is None:
        return []

    def purge() -> int:
        purge_raw(app.sessions, older_than, app.clock.now(), app.settings.outgoing.maildir)
        return 0  # it logs what it purged and queues no mail

    return [("retention", EVERY, purge)]


def _on_call(app: App) -> list[Job]:
    """The on-call escalation, when a `[[rota]]` exists: as often as the SLA sweep."""
    if not app.settings.rotas:
        return []
    every = app.settings.scheduler.sweep_interval
    return [("on-call escalation", every, lambda: escalate(app.sessions, app.sla, app.clock.now()))]


def _flood_summaries(app: App) -> Job:
    """The summary of each flood of customer mail that agents were not told of one by one."""
    threshold = app.settings.notifications.flood_threshold

    def summarise() -> int:
        return floods.summarise(app.sessions, app.sla, threshold, app.clock.now())

    return ("flood summaries", floods.EVERY, summarise)


def _quarantine_in_mailbox(app: App, intake_id: int, tokens: Mapping[str, TokenSource]) -> None:
    """Move a quarantined IMAP message to its mailbox's quarantine folder, if it has one."""
    with app.sessions() as session:
        row = session.get(InboundMessage, intake_id)
        key = row.source_key if row is not None and row.source == "imap" else None
    box = next((b for b in app.settings.imap if key and key.startswith(f"{b.name}/")), None)
    if box is None or box.quarantine_folder is None or key is None:
        return
    from mailtickets.ingest.imap_quarantine import move_to_quarantine

    try:
        move_to_quarantine(box, key, tokens=tokens.get(box.name))
    except ImapError as exc:  # the raw message is safe in the database either way
        log.warning("%s: cannot move quarantined %s: %s", box.name, key, exc)


def _count_delivery(metrics: Metrics, attempt: Attempt) -> None:
    if attempt.held is not None:
        metrics.relay_refusals.inc()
    if attempt.status is OutboundStatus.SENT:
        metrics.sent.inc()
    elif attempt.status is OutboundStatus.FAILED:
        metrics.send_failures.labels("permanent").inc()
    else:
        metrics.send_failures.labels("temporary").inc()


def reload(app: App, load: Callable[[], Settings]) -> str:
    """What SIGHUP does: templates are read afresh; other changes are reported, since the
    parts that hold them are built once (a restart applies them safely)."""
    if app.templates.cache is not None:
        app.templates.cache.clear()
    try:
        fresh = load()
    except ConfigError as exc:
        return (
            f"templates reloaded; the config has {len(exc.problems)} problem(s), kept the old one"
        )
    changed = [
        f.name for f in fields(Settings) if getattr(fresh, f.name) != getattr(app.settings, f.name)
    ]
    if not changed:
        return "templates reloaded; config unchanged"
    return f"templates reloaded; changes to {', '.join(changed)} take effect after a restart"
