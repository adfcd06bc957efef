"""A real helpdesk on a database with a frozen clock, fed one message at a time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from mailtickets.app import App, build_app
from mailtickets.config.load import parse_settings
from mailtickets.db import migrate
from mailtickets.db.base import make_engine
from mailtickets.db.models import Event, InboundMessage, IntakeStatus, OutboundMessage
from mailtickets.ingest.intake import Envelope, accept
from mailtickets.outbound.sender import Attempt, OutboxSender
from mailtickets.outbound.transport import transport_for
from mailtickets.pipeline.worker import Processed, claim, process
from mailtickets.services.views import show_ticket
from tests.support.cli import SECRET
from tests.support.clock import FrozenClock
from tests.support.mail import compose

#: Whose leases the helpdesk's worker and sender take.
HOLDER = "helpdesk"

CONFIG = """
[database]
url = "{url}"
[storage]
dir = "{directory}"
[tickets]
subject_prefix = "ACME"
secret_env = "SECRET"
reopen_grace = "7d"
max_acknowledgements_per_hour = 3
[ingest]
max_attempts = 3
retry_delay = "10s"
max_attachment_size = "1MiB"
[[queue]]
address = "support@acme.example"
name = "Support"
aliases = ["help@acme.example"]
[[queue]]
address = "vendas@acme.example"
name = "Vendas"
locale = "pt_BR"
[[agent]]
address = "alice@acme.example"
name = "Alice"
[[agent]]
address = "bruno@acme.example"
name = "Bruno"
queues = ["Vendas"]
"""


@dataclass
class Helpdesk:
    app: App
    clock: FrozenClock

    def deliver(
        self,
        raw: bytes,
        rcpt: tuple[str, ...] = ("support@acme.example",),
        mail_from: str | None = "sender@example.com",
        source: str = "smtp",
        history: bool = False,
    ) -> Processed:
        """Accept `raw` and run the pipeline on it now, as the worker would; `history` as
        `mailtickets import` does without --notify."""
        now = self.clock.now()
        envelope = Envelope(source, mail_from, rcpt, history=history)
        accepted = accept(self.app.sessions, raw, envelope, now)
        if accepted.duplicate:
            return Processed(accepted.id, IntakeStatus.DUPLICATE, "duplicate", None, None)
        intake_id = claim(
            self.app.sessions, now, self.app.settings.ingest.retry_delay, accepted.id, holder=HOLDER
        )
        assert intake_id is not None, f"intake #{accepted.id} was not pending"
        return process(
            self.app.sessions,
            intake_id,
            self.app.pipeline,
            now,
            self.app.settings.ingest.max_attempts,
        )

    def settle(self, intake_id: int) -> IntakeStatus:
        """Process row `intake_id` until it leaves the queue, as the worker would across
        retries (the clock jumps past each backoff)."""
        app = self.app
        status = IntakeStatus.PENDING
        for _ in range(app.settings.ingest.max_attempts):
            now = self.clock.now()
            leased = claim(
                app.sessions, now, app.settings.ingest.retry_delay, intake_id, holder=HOLDER
            )
            if leased is None:
                break
            status = process(
                app.sessions, intake_id, app.pipeline, now, app.settings.ingest.max_attempts
            ).status
            if status is not IntakeStatus.PENDING:
                break
            self.clock.advance(timedelta(hours=7))
        return status

    def sender(
        self,
        after_delivery: Callable[[Attempt], None] = lambda attempt: None,
        connections: int = 1,
    ) -> OutboxSender:
        """An outbox sender over the configured transport, on this helpdesk's clock; with one
        connection (by default), deliveries go in the order they were queued."""
        app = self.app
        return OutboxSender(
            app.sessions,
            [transport_for(app.settings.outgoing) for _ in range(connections)],
            app.templates,
            app.sender,
            self.clock,
            holder=HOLDER,
            after_delivery=after_delivery,
        )

    def send_all(self) -> int:
        """Deliver every due outbox row; return how many were tried."""
        tried: list[Attempt] = []
        sender = self.sender(tried.append)
        try:
            while sender.work_once():
                pass
        finally:
            sender.close()
        return len(tried)

    def reply_address(self, ticket_id: int, recipient: str, template: str | None = None) -> str:
        """The Reply-To of the first mail queued to `recipient` about ticket `ticket_id` (of
        `template`, if given): where that person's mail client sends an answer."""
        addresses = [
            str(row.context["reply_to"])
            for row in self.outbox(ticket_id)
            if row.recipients == [recipient]
            and row.context.get("reply_to")
            and template in (None, row.template)
        ]
        assert addresses, f"no mail to {recipient} about ticket #{ticket_id} to answer"
        return addresses[0]

    def agent_says(self, ticket_id: int, body: str, agent: str = "alice@acme.example") -> Processed:
        """`agent` answers their notice about ticket `ticket_id` with `body` (commands, text or
        both), as any agent does: by mail to the signed address the notice gave them."""
        address = self.reply_address(ticket_id, agent)
        mail = compose(sender=agent, to=address, subject="Re: your ticket", body=body)
        return self.deliver(mail, rcpt=(address,), mail_from=agent)

    def ticket(self, ticket_id: int) -> dict[str, Any]:
        with self.app.sessions() as session:
            return show_ticket(session, ticket_id)

    def outbox(self, ticket_id: int | None = None) -> list[OutboundMessage]:
        with self.app.sessions() as session:
            query = select(OutboundMessage).order_by(OutboundMessage.id)
            if ticket_id is not None:
                query = query.where(OutboundMessage.ticket_id == ticket_id)
            return list(session.scalars(query))

    def events(self, ticket_id: int, kind: str | None = None) -> list[Event]:
        with self.app.sessions() as session:
            query = select(Event).where(Event.ticket_id == ticket_id).order_by(Event.id)
            if kind:
                query = query.where(Event.kind == kind)
            return list(session.scalars(query))

    def intake(self, status: IntakeStatus | None = None) -> list[InboundMessage]:
        with self.app.sessions() as session:
            # Their bytes too: the rows are read after the session closes.
            query = (
                select(InboundMessage)
                .options(selectinload(InboundMessage.body))
                .order_by(InboundMessage.id)
            )
            if status is not None:
                query = query.where(InboundMessage.status == status)
            return list(session.scalars(query))


def make_helpdesk(url: str, directory: Path, extra: str = "", config: str = CONFIG) -> Helpdesk:
    """A migrated helpdesk on `url`, keeping its files (outbox maildir) in `directory`."""
    text = config.format(url=url, directory=directory) + extra
    settings, _ = parse_settings(text, "test", None, {"SECRET": SECRET})
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    clock = FrozenClock()
    return Helpdesk(build_app(settings, clock), clock)
