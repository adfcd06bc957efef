"""The frozen settings every part of mailtickets receives explicitly; built by `config.load`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from mailtickets.mail.rules import Rule
from mailtickets.sla.calendar import Calendar
from mailtickets.sla.rota import Rota

LOCALES = ("en", "pt_BR")
PRIORITIES = ("low", "normal", "high", "urgent")
#: How a queue shares out its new tickets among its available agents.
ASSIGN_MODES = ("none", "round_robin", "least_open")
#: Who hears of a queue's new ticket once it has an assignee.
NOTIFY_NEW = ("assignee", "all")
#: How often an agent gets the mail of their own open and pending tickets.
AGENT_DIGESTS = ("none", "daily")


@dataclass(frozen=True)
class DatabaseSettings:
    url: str


@dataclass(frozen=True)
class DaemonSettings:
    #: How long stopping may take before the parts still busy are abandoned.
    stop_timeout: timedelta
    #: How often an instance asks for the duties another instance owns (PostgreSQL).
    takeover_interval: timedelta
    #: A part silent for this long beyond the wait it announced is stuck: the systemd
    #: watchdog is no longer pinged. Longer than any network timeout of a part.
    stuck_after: timedelta


@dataclass(frozen=True)
class StorageSettings:
    """Where the daemon keeps files of its own: generated secret, local outbox maildir."""

    dir: Path


@dataclass(frozen=True)
class TicketSettings:
    subject_prefix: str
    secret_env: str
    #: HMAC key from `secret_env`; None means "use the key generated under the storage dir".
    secret: bytes | None
    reopen_grace: timedelta
    max_acknowledgements_per_hour: int
    #: An agent's answer held back by the collision check is dropped after this long.
    held_reply_expiry: timedelta = timedelta(hours=24)
    #: New participants one message may add; the rest are listed on the ticket, not mailed.
    max_new_participants: int = 10
    #: Participants one ticket may have, pending ones included.
    max_participants: int = 50


@dataclass(frozen=True)
class QueueSettings:
    address: str
    name: str
    locale: str
    sla: str | None
    aliases: tuple[str, ...] = ()
    #: Ask the customer for a satisfaction rating when a ticket is resolved.
    csat: bool = False
    #: The `[[rota]]` whose agent on call takes tickets outside business hours, and urgent ones.
    on_call: str | None = None
    #: Who gets each new ticket: nobody, or the queue's available agents in turn
    #: ("round_robin") or the one with the fewest open and pending tickets ("least_open").
    assign: str = "none"
    #: Who hears of a new ticket that has an assignee: only them, or every agent of the queue.
    notify_new: str = "assignee"
    #: Who mail may add to a ticket: "open" (whoever the sender copies), "confirm" (those
    #: added by unauthenticated mail or by reference wait for an agent), "closed" (agents only).
    participants: str = "confirm"


@dataclass(frozen=True)
class IngestSettings:
    max_attempts: int
    retry_delay: timedelta
    poll_interval: timedelta
    max_attachment_size: int
    tickets_from_auto_replies: bool


@dataclass(frozen=True)
class SmtpListenerSettings:
    host: str
    port: int
    protocol: str
    tls_cert: Path | None
    tls_key: Path | None
    require_tls: bool
    implicit_tls: bool
    max_message_size: int
    max_recipients: int
    max_connections: int
    idle_timeout: timedelta
    #: Sessions one client address may hold at once, so one client cannot take them all.
    max_connections_per_client: int = 10
    #: The silence allowed before the first command and between commands before MAIL.
    greeting_timeout: timedelta = timedelta(seconds=30)
    #: The longest line taken in DATA, CRLF included; longer ones refuse the message.
    max_line_length: int = 64 * 1024


@dataclass(frozen=True)
class OAuth2Settings:
    """How to get access tokens from an OAuth2 token endpoint (`[imap.oauth2]`, …).

    `flow` is "refresh_token" (Gmail, Microsoft 365 delegated: a user consented once) or
    "client_credentials" (Microsoft 365 app-only). Secrets come from the environment.
    """

    flow: str
    token_url: str
    client_id: str
    client_secret: str | None = field(repr=False)
    refresh_token: str | None = field(repr=False)
    scope: str | None
    #: The SASL mechanism that carries the token: "xoauth2" or "oauthbearer" (RFC 7628).
    mechanism: str


@dataclass(frozen=True)
class ImapMailboxSettings:
    name: str
    host: str
    port: int
    tls: str
    username: str
    password: str | None = field(repr=False)
    #: Log in with tokens from here instead of the password (`auth = "oauth2"`).
    oauth2: OAuth2Settings | None
    folders: tuple[str, ...]
    queue: str | None
    poll_interval: timedelta
    after: str
    quarantine_folder: str | None


@dataclass(frozen=True)
class OutgoingSettings:
    """The relay; `host` None means mail is written to `maildir` instead of sent."""

    host: str | None
    port: int
    tls: str
    username: str | None
    password: str | None = field(repr=False)
    #: Authenticate with tokens from here instead of the password (`auth = "oauth2"`).
    oauth2: OAuth2Settings | None
    maildir: Path
    redirect_all_to: str | None
    retry_delay: timedelta
    give_up_after: timedelta
    timeout: timedelta
    #: What the files one mail carries may add up to once encoded; the rest are listed.
    max_attachments_size: int
    #: Envelope recipients one outgoing mail may have.
    max_recipients: int = 50
    #: Connections to the relay used side by side (the maildir is written by one).
    connections: int = 4


@dataclass(frozen=True)
class TemplateSettings:
    """A site directory searched before the packaged templates; None for packaged only."""

    dir: Path | None


@dataclass(frozen=True)
class AgentSettings:
    address: str
    name: str
    queues: tuple[str, ...]
    role: str
    signature: str
    #: "daily": a mail of their own open and pending tickets at `[scheduler] digest_at`.
    digest: str = "none"


@dataclass(frozen=True)
class AuthenticationSettings:
    """Strict mode: agents' replies count only when our MTA vouches for their origin."""

    require_for_agents: bool
    trusted_authserv_id: str | None


@dataclass(frozen=True)
class SlaTimes:
    """Budgets in business time; None where the policy does not track one."""

    first_response: timedelta | None
    next_response: timedelta | None
    resolution: timedelta | None


@dataclass(frozen=True)
class SlaSettings:
    name: str
    calendar: str
    times: SlaTimes
    warn_at: float
    #: Per-priority budgets (`[sla.priority.urgent]`), replacing the ones they name.
    priorities: dict[str, SlaTimes] = field(default_factory=dict)


@dataclass(frozen=True)
class CalendarSettings:
    name: str
    calendar: Calendar


@dataclass(frozen=True)
class RotaSettings:
    """An on-call `[[rota]]` and the `[[calendar]]` whose zone and hours it follows."""

    rota: Rota
    calendar: str


@dataclass(frozen=True)
class SchedulerSettings:
    sweep_interval: timedelta
    #: Resolved and pending tickets silent this long are closed, the customer told.
    auto_close_after: timedelta | None
    #: "HH:MM" (UTC) for the managers' daily digest; None sends none.
    digest_at: str | None


@dataclass(frozen=True)
class MetricsSettings:
    listen: tuple[str, int] | None


@dataclass(frozen=True)
class ApiToken:
    """A bearer token of the HTTP API (`[[api.token]]`); its value comes from `token_env`."""

    name: str
    scope: str  # "read" | "write"
    token: str = field(repr=False)


@dataclass(frozen=True)
class ApiSettings:
    """The JSON HTTP API; `listen` None serves none."""

    listen: tuple[str, int] | None
    tokens: tuple[ApiToken, ...]


@dataclass(frozen=True)
class SpamSettings:
    """What counts as spam at intake, besides rules that say so."""

    #: Believe `X-Spam-Flag: YES` / `X-Spam-Status: Yes` stamped by our MTA.
    mta_headers: bool = True
    #: Addresses or domains (subdomains included) whose mail is always spam / never spam.
    block: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()


@dataclass(frozen=True)
class RetentionSettings:
    #: Raw mail (intake, rendered outgoing mail, the outbox maildir) older than this is
    #: purged; None keeps it forever.
    raw_messages: timedelta | None = None


#: Who is told that an agent answered a ticket: nobody, the other agents, or those and the
#: author too (`[notifications] answered`).
ANSWERED = ("none", "others", "all")


@dataclass(frozen=True)
class NotificationSettings:
    answered: str = "others"
    #: Customer messages from one sender (or new addresses at one domain) within an hour
    #: beyond which agents get one flood notice and a summary instead of a notice each.
    flood_threshold: int = 20


@dataclass(frozen=True)
class WebhookSettings:
    """A receiver of ticket events over HTTP (`[[webhook]]`)."""

    #: How the CLI, logs, /healthz and metrics name it (a URL may hold a token).
    name: str
    url: str = field(repr=False)
    #: The event names it receives (all when the table names none).
    events: frozenset[str]
    #: Only events of tickets in these queues (addresses); empty: every queue.
    queues: frozenset[str]
    #: "json" (signed events) or "slack" (a message for Slack or Mattermost).
    format: str
    #: The HMAC key from `secret_env`; None sends no signature (allowed for "slack" only).
    secret: bytes | None = field(repr=False)


@dataclass(frozen=True)
class Settings:
    """Everything the daemon and the CLI need, validated."""

    source: Path | None  # the TOML file read, None for the embedded default
    database: DatabaseSettings
    daemon: DaemonSettings
    storage: StorageSettings
    tickets: TicketSettings
    ingest: IngestSettings
    queues: tuple[QueueSettings, ...]
    smtp: tuple[SmtpListenerSettings, ...]
    imap: tuple[ImapMailboxSettings, ...]
    outgoing: OutgoingSettings
    templates: TemplateSettings
    agents: tuple[AgentSettings, ...]
    authentication: AuthenticationSettings
    slas: tuple[SlaSettings, ...]
    calendars: tuple[CalendarSettings, ...]
    scheduler: SchedulerSettings
    metrics: MetricsSettings
    # Customer care at intake: routing rules, spam, retention of raw mail.
    rules: tuple[Rule, ...] = ()
    spam: SpamSettings = SpamSettings()
    retention: RetentionSettings = RetentionSettings()
    rotas: tuple[RotaSettings, ...] = ()
    notifications: NotificationSettings = NotificationSettings()
    webhooks: tuple[WebhookSettings, ...] = ()
    api: ApiSettings = field(default_factory=lambda: ApiSettings(listen=None, tokens=()))

    @property
    def source_name(self) -> str:
        return str(self.source) if self.source else "the embedded default"
