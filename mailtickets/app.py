"""The composition root: builds the engine, sessions and services from settings.

Only this module knows every part; everything else receives what it needs explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import Environment
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from mailtickets.clock import Clock, SystemClock
from mailtickets.config import Settings
from mailtickets.daemon import Part
from mailtickets.db import migrate
from mailtickets.db.base import make_engine, session_factory
from mailtickets.ingest.intake import Accepted, Envelope, accept
from mailtickets.ingest.smtp import SmtpListener
from mailtickets.keyfile import load_or_create_key
from mailtickets.outbound.render import environment
from mailtickets.outbound.sender import OutboxSender, SenderConfig
from mailtickets.outbound.transport import transport_for
from mailtickets.pipeline.context import PipelineConfig
from mailtickets.pipeline.worker import IngestWorker
from mailtickets.services.directory import sync_directory


@dataclass(frozen=True)
class App:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock
    secret: bytes
    pipeline: PipelineConfig
    sender: SenderConfig
    templates: Environment


def build_app(settings: Settings, clock: Clock | None = None) -> App:
    """Everything the daemon and the CLI work with; checks that the schema is current."""
    engine = make_engine(settings.database.url)
    migrate.ensure_current(engine)
    secret = settings.tickets.secret or load_or_create_key(settings.storage.dir)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        sync_directory(session, settings.queues, settings.agents)
    templates = environment(settings.templates.dir)
    pipeline = PipelineConfig.from_settings(settings, secret, templates)
    sender = SenderConfig(
        settings.outgoing,
        settings.tickets.subject_prefix,
        secret,
        settings.queues,
        settings.agents,
    )
    return App(
        settings, engine, sessions, clock or SystemClock(), secret, pipeline, sender, templates
    )


def daemon_parts(app: App) -> list[Part]:
    """The parts `mailtickets run` starts, edges last so they stop first."""
    sender = OutboxSender(
        app.sessions, transport_for(app.settings.outgoing), app.templates, app.sender, app.clock
    )
    worker = IngestWorker(
        app.sessions, app.pipeline, app.settings.ingest, app.clock, after_message=sender.wake
    )

    def store(raw: bytes, envelope: Envelope, trace: bytes) -> Accepted:
        return accept(app.sessions, raw, envelope, app.clock.now(), trace)

    listeners = [
        SmtpListener(listener, app.settings.queues, store, app.clock, on_accepted=worker.wake)
        for listener in app.settings.smtp
    ]
    return [sender, worker, *listeners]
