"""What the pipeline steps share: the settings they need and the message being processed.

Steps read the context, add what they learn, and either return or raise `Stop` (finished early,
e.g. a duplicate) or `Quarantine` (a message no retry can help).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from jinja2 import Environment
from sqlalchemy.orm import Session

from mailtickets.config import Settings
from mailtickets.config.settings import AgentSettings, QueueSettings, SpamSettings
from mailtickets.db.models import Contact, InboundMessage, Ticket
from mailtickets.mail.addresses import normalise, split_plus
from mailtickets.mail.dsn import Bounce
from mailtickets.mail.loops import Verdict
from mailtickets.mail.parse import ParsedMail
from mailtickets.mail.rules import Routing, Rule
from mailtickets.outcomes import Outcome
from mailtickets.services.sla.policy import SlaConfig


@dataclass(frozen=True)
class PipelineConfig:
    secret: bytes
    subject_prefix: str
    reopen_grace: timedelta
    max_acknowledgements_per_hour: int
    max_attachment_size: int
    tickets_from_auto_replies: bool
    queues: tuple[QueueSettings, ...]
    agents: tuple[AgentSettings, ...]
    #: For macros (`#macro name`): canned answers under `<locale>/macros/` in the templates.
    templates: Environment
    sla: SlaConfig
    #: Strict mode: the authserv-id whose DKIM/SPF pass an agent's reply needs; None is off.
    agents_must_authenticate_at: str | None = None
    rules: tuple[Rule, ...] = ()
    spam: SpamSettings = field(default_factory=SpamSettings)

    @classmethod
    def from_settings(
        cls, settings: Settings, secret: bytes, templates: Environment, sla: SlaConfig
    ) -> PipelineConfig:
        return cls(
            secret=secret,
            subject_prefix=settings.tickets.subject_prefix,
            reopen_grace=settings.tickets.reopen_grace,
            max_acknowledgements_per_hour=settings.tickets.max_acknowledgements_per_hour,
            max_attachment_size=settings.ingest.max_attachment_size,
            tickets_from_auto_replies=settings.ingest.tickets_from_auto_replies,
            queues=settings.queues,
            agents=settings.agents,
            templates=templates,
            sla=sla,
            agents_must_authenticate_at=(
                settings.authentication.trusted_authserv_id
                if settings.authentication.require_for_agents
                else None
            ),
            rules=settings.rules,
            spam=settings.spam,
        )

    @property
    def own_addresses(self) -> frozenset[str]:
        return frozenset(normalise(a) for q in self.queues for a in (q.address, *q.aliases))

    @property
    def own_domains(self) -> frozenset[str]:
        return frozenset(a.rpartition("@")[2] for a in self.own_addresses)

    def queue_for(self, address: str) -> QueueSettings | None:
        """The queue `address` belongs to: its address, an alias, or a plus form of either."""
        base, _ = split_plus(address)
        for queue in self.queues:
            if base in {normalise(a) for a in (queue.address, *queue.aliases)}:
                return queue
        return None

    def agent(self, address: str | None) -> AgentSettings | None:
        return next((a for a in self.agents if normalise(a.address) == address), None)


@dataclass
class MessageContext:
    intake: InboundMessage
    session: Session
    now: datetime
    config: PipelineConfig
    mail: ParsedMail = field(init=False)
    message_id: str = ""
    automated: Verdict | None = None
    bounce: Bounce | None = None
    sender_address: str = ""
    sender_name: str | None = None
    sender: Contact | None = None
    agent: AgentSettings | None = None  # set only when the sender proved to be this agent
    #: The agent who opened this ticket for a customer with `#customer <address>`.
    on_behalf_by: str | None = None
    ticket: Ticket | None = None
    matched_by: str | None = None
    #: The mail came on a satisfaction reply address: an answer to be read as a rating.
    survey: bool = False
    ignored_reference: dict[str, object] | None = None
    queue: QueueSettings | None = None
    new_text: str = ""
    outcome: Outcome | None = None
    created: bool = False
    omitted_attachments: list[str] = field(default_factory=list)
    #: What the `[[rule]]`s matched and set (steps.rules); None when none were evaluated.
    routing: Routing | None = None
