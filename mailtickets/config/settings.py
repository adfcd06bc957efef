"""The frozen settings every part of mailtickets receives explicitly; built by `config.load`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from mailtickets.mail.rules import Rule
from mailtickets.sla.calendar import Calendar

LOCALES = ("en", "pt_BR")
PRIORITIES = ("low", "normal", "high", "urgent")


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


@dataclass(frozen=True)
class QueueSettings:
    address: str
    name: str
    locale: str
    sla: str | None
    aliases: tuple[str, ...] = ()
    #: Ask the customer for a satisfaction rating when a ticket is resolved.
    csat: bool = False


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
    api: ApiSettings = field(default_factory=lambda: ApiSettings(listen=None, tokens=()))

    @property
    def source_name(self) -> str:
        return str(self.source) if self.source else "the embedded default"
