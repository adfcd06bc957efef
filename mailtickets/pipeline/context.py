"""What the pipeline steps share: the settings they need and the message being processed.

The message goes through two phases, each with its own type. `Received` is a parsed message
whose sender is not known yet (the screening steps); `identify_sender` turns it into a
`MessageContext`, whose sender address and queue are always there (the steps that apply it).
Steps read the context, add what they learn, and either return or raise `Stop` (finished early,
e.g. a duplicate) or `Quarantine` (a message no retry can help), from `mailtickets.errors`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from jinja2 import Environment
from sqlalchemy.orm import Session

from mailtickets.config import Settings
from mailtickets.config.settings import AgentSettings, QueueSettings, SpamSettings
from mailtickets.db.models import Agent, Attachment, Contact, InboundMessage, Ticket
from mailtickets.mail.addresses import normalise, split_plus
from mailtickets.mail.authresults import Authentication, check
from mailtickets.mail.dsn import Bounce
from mailtickets.mail.loops import Verdict
from mailtickets.mail.parse import ParsedMail
from mailtickets.mail.rules import Routing, Rule
from mailtickets.outbound.render import customer_locales
from mailtickets.outcomes import Outcome
from mailtickets.services.sla.policy import SlaConfig


@dataclass(frozen=True)
class PipelineConfig:
    secret: bytes
    subject_prefix: str
    reopen_grace: timedelta
    max_acknowledgements_per_hour: int
    max_attachment_size: int
    #: What the files of one outgoing mail may add up to, encoded (`[outgoing]`).
    max_attachments_size: int
    tickets_from_auto_replies: bool
    queues: tuple[QueueSettings, ...]
    agents: tuple[AgentSettings, ...]
    #: For macros (`#macro name`): canned answers under `<locale>/macros/` in the templates.
    templates: Environment
    sla: SlaConfig
    #: Strict mode: the authserv-id whose DKIM/SPF pass, aligned with the agent's domain, an
    #: agent's mail needs; None is off.
    agents_must_authenticate_at: str | None = None
    rules: tuple[Rule, ...] = ()
    spam: SpamSettings = field(default_factory=SpamSettings)
    #: The locales customers can get mail in (those with templates), for their language.
    locales: tuple[str, ...] = ()
    #: How long an answer held by the collision check waits for its agent's decision.
    held_reply_expiry: timedelta = timedelta(hours=24)
    #: Who hears that an agent answered: "none", "others" or "all" (`[notifications]`).
    answered: str = "others"
    #: Customer messages from one source in an hour beyond which agents hear of a flood.
    flood_threshold: int = 20
    #: The authserv-id whose aligned DKIM/SPF pass lets a customer's mail add participants
    #: who are mailed at once; None: no mail is judged by it.
    trusted_authserv_id: str | None = None
    max_new_participants: int = 10
    max_participants: int = 50
    #: Envelope recipients of one answer (`[outgoing] max_recipients`).
    max_recipients: int = 50

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
            max_attachments_size=settings.outgoing.max_attachments_size,
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
            locales=customer_locales(templates),
            held_reply_expiry=settings.tickets.held_reply_expiry,
            answered=settings.notifications.answered,
            flood_threshold=settings.notifications.flood_threshold,
            trusted_authserv_id=settings.authentication.trusted_authserv_id,
            max_new_participants=settings.tickets.max_new_participants,
            max_participants=settings.tickets.max_participants,
            max_recipients=settings.outgoing.max_recipients,
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
class Received:
    """A parsed message whose sender is not known yet."""

    intake: InboundMessage
    session: Session
    now: datetime
    config: PipelineConfig
    mail: ParsedMail
    message_id: str = ""
    automated: Verdict | None = None
    bounce: Bounce | None = None

    @property
    def history(self) -> bool:
        """Imported as history (`mailtickets import` without --notify): `now` is when the
        message was written, and nothing it causes is mailed to anyone."""
        return self.intake.history

    def recipients(self) -> list[str]:
        """Every address the message was delivered or written to, envelope first."""
        mail = self.mail
        headers = [*mail.headers("Delivered-To"), *mail.headers("X-Original-To")]
        return [*self.intake.rcpt_to, *headers, *mail.to, *mail.cc]

    def queue_of_recipients(self) -> QueueSettings:
        """The first queue the message was sent to; the first queue when none was named."""
        for address in self.recipients():
            queue = self.config.queue_for(address)
            if queue is not None:
                return queue
        return self.config.queues[0]


@dataclass(frozen=True)
class ProvenAgent:
    """An agent who proved to be the sender: by their signed reply address and From."""

    settings: AgentSettings
    row: Agent
    #: The newest answer to the customer when the mail they reply to was sent (a message id,
    #: 0 for none); None when their reply address did not say.
    seen: int | None = None


@dataclass(kw_only=True)
class MessageContext(Received):
    """A message whose sender and queue are known: what the steps that apply it share."""

    sender_address: str
    sender_name: str | None
    #: The queue of the ticket it belongs to, or of its recipients; a rule may change it.
    queue: QueueSettings
    sender: Contact | None = None
    agent: ProvenAgent | None = None
    #: The agent who opened this ticket for a customer (`#customer <address>`, or their own
    #: mail to the customer copied to the queue): nobody is acknowledged.
    on_behalf_by: str | None = None
    #: Why mail from an agent's address that names a ticket proves nothing (`code`, and a
    #: `detail` in English), when matching found out; see handlers.agent_mail.
    unproven: dict[str, str] | None = None
    #: The agent's reply held nothing but our own quoted mail (steps.text).
    only_our_words: bool = False
    #: The agent's reply quoted our own mail, cut from its text (steps.text); their HTML,
    #: whose quote the cut did not see, is then not relayed.
    quoted_our_words: bool = False
    ticket: Ticket | None = None
    matched_by: str | None = None
    #: The mail came on a satisfaction reply address: an answer to be read as a rating.
    survey: bool = False
    ignored_reference: dict[str, object] | None = None
    new_text: str = ""
    outcome: Outcome | None = None
    created: bool = False
    omitted_attachments: list[str] = field(default_factory=list)
    #: The files of the message as stored on its ticket, for the mail that tells of it.
    attachments: list[Attachment] = field(default_factory=list)
    #: What the `[[rule]]`s matched and set (steps.rules); None when none were evaluated.
    routing: Routing | None = None

    @classmethod
    def known(
        cls,
        received: Received,
        *,
        sender_address: str,
        sender_name: str | None,
        queue: QueueSettings,
    ) -> MessageContext:
        """`received`, now that its sender and queue are known."""
        return cls(
            intake=received.intake,
            session=received.session,
            now=received.now,
            config=received.config,
            mail=received.mail,
            message_id=received.message_id,
            automated=received.automated,
            bounce=received.bounce,
            sender_address=sender_address,
            sender_name=sender_name,
            queue=queue,
        )

    def authentication(self) -> Authentication | None:
        """In strict mode, whether our MTA saw the From domain pass DKIM or SPF; None when
        strict mode is off."""
        trusted = self.config.agents_must_authenticate_at
        if trusted is None:
            return None
        headers = self.mail.headers("Authentication-Results")
        return check(headers, trusted, self.sender_address.rpartition("@")[2])

    def unauthenticated(self) -> bool:
        """Whether our MTA (`trusted_authserv_id`, when set) did not vouch for the From domain:
        such mail may be forged, so whom it copies waits for an agent."""
        trusted = self.config.trusted_authserv_id
        if trusted is None:
            return False
        headers = self.mail.headers("Authentication-Results")
        return not check(headers, trusted, self.sender_address.rpartition("@")[2]).aligned
