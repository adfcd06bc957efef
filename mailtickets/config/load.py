"""Find, read and validate the configuration: TOML for settings, the environment for secrets.

Search order: `--config FILE`, `$MAILTICKETS_CONFIG`, the first file of the search path that
exists, else the embedded default (SQLite under `./var/`, an SMTP listener on 127.0.0.1:2525
for support@localhost, outgoing mail into a local maildir). The search path is a parameter:
the CLI passes `$MAILTICKETS_CONFIG_PATH` when set, else `./mailtickets.toml` and
`/etc/mailtickets/config.toml`; library callers search nothing unless they say so.
Secrets never sit in the TOML: `*_env` keys name environment variables, which may come from a
`.env` file beside the config file (or `--env-file`).

A relative path in a config file (a SQLite database, `[storage] dir`, a certificate, …) is
relative to that file's directory, wherever the command runs; in the embedded default it is
relative to the working directory.

It stays one module at about 380 lines: it is the table of every section's reader, one
short function each; the larger readers already live in `sla`, `transport` and `rules`.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from datetime import time
from pathlib import Path

from mailtickets.config import reader as r
from mailtickets.config.api import read_api
from mailtickets.config.crosscheck import cross_check
from mailtickets.config.database_url import sqlite_file, sqlite_url
from mailtickets.config.rota import read_rota
from mailtickets.config.rules import read_rules
from mailtickets.config.settings import (
    AGENT_DIGESTS,
    ANSWERED,
    ASSIGN_MODES,
    LOCALES,
    NOTIFY_NEW,
    AgentSettings,
    AuthenticationSettings,
    DaemonSettings,
    DatabaseSettings,
    IngestSettings,
    MetricsSettings,
    NotificationSettings,
    QueueSettings,
    RetentionSettings,
    SchedulerSettings,
    Settings,
    SpamSettings,
    StorageSettings,
    TemplateSettings,
    TicketSettings,
)
from mailtickets.config.sla import read_calendar, read_sla
from mailtickets.config.transport import read_imap, read_outgoing, read_smtp
from mailtickets.config.webhooks import read_webhooks
from mailtickets.errors import ConfigError

CONFIG_ENV = "MAILTICKETS_CONFIG"
#: Replaces the default search path: files separated by ":" (os.pathsep); empty searches none,
#: which is how tests keep a host's /etc/mailtickets/config.toml out of their runs.
SEARCH_PATH_ENV = "MAILTICKETS_CONFIG_PATH"
DEFAULT_SEARCH_PATH = (Path("mailtickets.toml"), Path("/etc/mailtickets/config.toml"))

DATABASE_FILE = "mailtickets.db"

EMBEDDED_DEFAULT = """
[database]
url = "sqlite:///var/mailtickets.db"

[[queue]]
address = "support@localhost"
name = "Support"

[[smtp]]
host = "127.0.0.1"
port = 2525
"""

_ENV_NAME = r.nonempty

#: A signing key anyone could guess forges agents' commands: `mailtickets secret new` makes
#: 32 random bytes (43 characters); a key shorter than this, or made of few different
#: characters ("aaaa…", "abcabc…"), is refused.
MIN_SECRET_LENGTH = 32
MIN_SECRET_CHARACTERS = 10
_HOW_TO_MAKE_ONE = "make one with `mailtickets secret new`"


def secret_weakness(secret: str) -> str | None:
    """Why `secret` is too weak to sign reply addresses, or None when it will do."""
    if len(secret) < MIN_SECRET_LENGTH:
        return f"is too short ({len(secret)} characters, at least {MIN_SECRET_LENGTH} are needed)"
    if len(set(secret)) < MIN_SECRET_CHARACTERS:
        return (
            f"has too few different characters ({len(set(secret))}, "
            f"at least {MIN_SECRET_CHARACTERS} are needed)"
        )
    return None


def search_path_from(environ: Mapping[str, str]) -> tuple[Path, ...]:
    """The files to look for: `$MAILTICKETS_CONFIG_PATH` when set, else the default."""
    if SEARCH_PATH_ENV not in environ:
        return DEFAULT_SEARCH_PATH
    return tuple(Path(entry) for entry in environ[SEARCH_PATH_ENV].split(os.pathsep) if entry)


def find_config(
    explicit: Path | None, environ: Mapping[str, str], search_path: Sequence[Path]
) -> Path | None:
    """The config file to read, or None for the embedded default."""
    if explicit is not None:
        return explicit
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV])
    return next((path for path in search_path if path.is_file()), None)


def load_settings(
    config: Path | None = None,
    env_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    search_path: Sequence[Path] = (),
) -> Settings:
    """Load and validate all settings; raise `ConfigError` listing every problem.

    `search_path` is tried when neither `config` nor `$MAILTICKETS_CONFIG` names a file; it is
    empty unless given, so that only a caller that asks (the CLI) ever reads a host's files.
    """
    environ = os.environ if environ is None else environ
    path = find_config(config, environ, search_path)
    if path is None:
        text, source = EMBEDDED_DEFAULT, "the embedded default"
    else:
        text, source = _read(path), str(path)
    settings, _ = parse_settings(text, source, path, _environment(path, env_file, environ))
    return settings


def parse_settings(
    text: str, source: str, path: Path | None, env: Mapping[str, str]
) -> tuple[Settings, Mapping[str, object]]:
    """Settings from TOML text, and every key path the loader knows with its default.

    The defaults are the ones `text` led to (an `[[imap]]` port follows its `tls`); they and
    the key paths exist for the documentation tests.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{source}: invalid TOML: {exc}"]) from exc
    problems = r.Problems(source)
    settings = _settings(r.Table(data, "", problems), path, env)
    if problems.items:
        raise ConfigError(problems.items)
    return settings, dict(problems.asked)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError([f"{path}: cannot read the config file: {reason}"]) from exc


def _environment(
    config: Path | None, env_file: Path | None, environ: Mapping[str, str]
) -> dict[str, str]:
    """The process environment over the `.env` file's values (the real environment wins)."""
    if env_file is not None and not env_file.is_file():
        raise ConfigError([f"{env_file}: cannot read the env file: no such file"])
    file = env_file or (config.parent if config else Path()) / ".env"
    # As python-dotenv decides (a file it cannot see is none); imported only for a file: its
    # parser takes a tenth of what a short command may take.
    if not os.path.isfile(file):  # noqa: PTH113  (Path.is_file raises in a closed directory)
        return dict(environ)
    from dotenv import dotenv_values

    values = {k: v for k, v in dotenv_values(file).items() if v is not None}
    return values | dict(environ)


def _settings(root: r.Table, path: Path | None, env: Mapping[str, str]) -> Settings:
    # Relative paths follow the file, not the directory a command happens to run in: an MTA's
    # pipe runs in its queue directory, `sudo -u` keeps the caller's.
    base = Path(os.path.normpath(path.absolute())).parent if path is not None else None
    storage = _storage(root.table("storage"), base)
    queues = tuple(_queue(t) for t in root.tables("queue", "address"))
    agents = tuple(_agent(t) for t in root.tables("agent", "address"))
    templates = _templates(root.table("templates"), base)
    calendars = tuple(read_calendar(t) for t in root.tables("calendar", "name"))
    rotas = tuple(read_rota(t, calendars) for t in root.tables("rota", "name"))
    settings = Settings(
        source=path,
        database=_database(root.table("database"), base, storage),
        daemon=_daemon(root.table("daemon")),
        storage=storage,
        tickets=_tickets(root.table("tickets"), env, explicit=path is not None),
        ingest=_ingest(root.table("ingest")),
        queues=queues,
        smtp=tuple(read_smtp(t, base) for t in root.tables("smtp")),
        imap=tuple(read_imap(t, env) for t in root.tables("imap", "name")),
        outgoing=read_outgoing(root.table("outgoing"), storage, env, base),
        templates=templates,
        agents=agents,
        authentication=_authentication(root.table("authentication")),
        slas=tuple(read_sla(t) for t in root.tables("sla", "name")),
        calendars=calendars,
        scheduler=_scheduler(root.table("scheduler")),
        metrics=_metrics(root.table("metrics")),
        rules=read_rules(root.tables("rule", "name"), queues, agents, templates.dir),
        spam=_spam(root.table("spam")),
        retention=_retention(root.table("retention")),
        rotas=tuple(rota for rota in rotas if rota is not None),
        notifications=_notifications(root.table("notifications")),
        webhooks=read_webhooks(root.tables("webhook", "name"), queues, env, secret_weakness),
        api=read_api(root.table("api"), env, secret_weakness),
    )
    root.finish()
    cross_check(root.problems, settings)
    return settings


def _database(t: r.Table, base: Path | None, storage: StorageSettings) -> DatabaseSettings:
    # SQLite lives in the storage directory unless told otherwise: one place to make writable.
    default = f"sqlite:///{storage.dir / DATABASE_FILE}"
    url = t.get("url", _database_url(base), default)
    t.finish()
    return DatabaseSettings(url=url)


def _database_url(base: Path | None) -> r.Kind[str]:
    """A SQLAlchemy URL; a relative SQLite file is taken from `base` like any other path."""

    def parse(value: object) -> str:
        text = r.nonempty(value)
        file = sqlite_file(text)
        if file is not None:
            return sqlite_url(str(r.path(base)(file)))
        from sqlalchemy.engine import make_url  # for any other URL: see `database_url`
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(text)
        except ArgumentError as exc:
            raise ValueError(
                'must be a database URL such as "sqlite:///var/mailtickets.db"'
            ) from exc
        database = url.database
        if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
            return text
        resolved = r.path(base)(database)
        return url.set(database=str(resolved)).render_as_string(hide_password=False)

    return parse


def _daemon(t: r.Table) -> DaemonSettings:
    settings = DaemonSettings(
        stop_timeout=t.get("stop_timeout", r.positive_duration, r.duration("10s")),
        takeover_interval=t.get("takeover_interval", r.positive_duration, r.duration("5s")),
        stuck_after=t.get("stuck_after", r.positive_duration, r.duration("5m")),
    )
    t.finish()
    return settings


def _storage(t: r.Table, base: Path | None) -> StorageSettings:
    directory = t.get("dir", r.path(base), r.path(base)("var"))
    t.finish()
    return StorageSettings(dir=directory)


def _tickets(t: r.Table, env: Mapping[str, str], *, explicit: bool) -> TicketSettings:
    secret_env = t.get("secret_env", _ENV_NAME, "MAILTICKETS_SECRET")
    secret: bytes | None = None
    if env.get(secret_env):
        secret = env[secret_env].encode()
        if weakness := secret_weakness(env[secret_env]):
            reason = f"environment variable {secret_env} {weakness}; {_HOW_TO_MAKE_ONE}"
            t.problems.add(t.label, "secret_env", reason)
    elif explicit and t.has("secret_env"):
        # A file that names the variable means the operator expects it to be set; a generated
        # key would silently invalidate every reply address sent by other instances.
        t.problems.add(t.label, "secret_env", f"environment variable {secret_env} is not set")
    settings = TicketSettings(
        subject_prefix=t.get("subject_prefix", r.nonempty, "Ticket"),
        secret_env=secret_env,
        secret=secret,
        reopen_grace=t.get("reopen_grace", r.duration, r.duration("14d")),
        max_acknowledgements_per_hour=t.get(
            "max_acknowledgements_per_hour", r.integer(0, 10000), 5
        ),
        held_reply_expiry=t.get("held_reply_expiry", r.positive_duration, r.duration("24h")),
        max_new_participants=t.get("max_new_participants", r.integer(0, 1000), 10),
        max_participants=t.get("max_participants", r.integer(1, 1000), 50),
    )
    t.finish()
    return settings


def _ingest(t: r.Table) -> IngestSettings:
    settings = IngestSettings(
        max_attempts=t.get("max_attempts", r.integer(1, 100), 5),
        retry_delay=t.get("retry_delay", r.positive_duration, r.duration("30s")),
        poll_interval=t.get("poll_interval", r.positive_duration, r.duration("5s")),
        max_attachment_size=t.get("max_attachment_size", r.size, r.size("20MiB")),
        tickets_from_auto_replies=t.get("tickets_from_auto_replies", r.boolean, False),
    )
    t.finish()
    return settings


def _queue(t: r.Table) -> QueueSettings:
    settings = QueueSettings(
        address=t.get("address", r.address, "", required=True),
        name=t.get("name", r.nonempty, "Support"),
        locale=t.get("locale", r.choice(*LOCALES), "en"),
        sla=t.optional("sla", r.nonempty),
        aliases=t.get("aliases", r.list_of(r.address), ()),
        csat=t.get("csat", r.boolean, False),
        on_call=t.optional("on_call", r.nonempty),
        assign=t.get("assign", r.choice(*ASSIGN_MODES), "none"),
        notify_new=t.get("notify_new", r.choice(*NOTIFY_NEW), "assignee"),
        participants=t.get("participants", r.choice("open", "confirm", "closed"), "confirm"),
    )
    t.finish()
    return settings


def _templates(t: r.Table, base: Path | None) -> TemplateSettings:
    settings = TemplateSettings(dir=t.optional("dir", r.path(base)))
    if settings.dir is not None and not settings.dir.is_dir():
        t.problems.add(t.label, "dir", f"{settings.dir} is not a directory")
    t.finish()
    return settings


def _agent(t: r.Table) -> AgentSettings:
    settings = AgentSettings(
        address=t.get("address", r.address, "", required=True),
        name=t.get("name", r.nonempty, "", required=True),
        queues=t.get("queues", r.list_of(r.nonempty), ()),
        role=t.get("role", r.choice("agent", "manager"), "agent"),
        signature=t.get("signature", r.string, ""),
        digest=t.get("digest", r.choice(*AGENT_DIGESTS), "none"),
    )
    t.finish()
    return settings


def _authentication(t: r.Table) -> AuthenticationSettings:
    settings = AuthenticationSettings(
        require_for_agents=t.get("require_for_agents", r.boolean, False),
        trusted_authserv_id=t.optional("trusted_authserv_id", r.nonempty),
    )
    if settings.require_for_agents and settings.trusted_authserv_id is None:
        t.problems.add(t.label, "trusted_authserv_id", "is required by require_for_agents")
    t.finish()
    return settings


def _clock_time(value: object) -> str:
    text = r.string(value)
    try:
        time.fromisoformat(text)
    except ValueError as exc:
        raise ValueError('must be a time of day such as "08:00"') from exc
    return text


def _scheduler(t: r.Table) -> SchedulerSettings:
    settings = SchedulerSettings(
        sweep_interval=t.get("sweep_interval", r.positive_duration, r.duration("30s")),
        auto_close_after=t.optional("auto_close_after", r.positive_duration),
        digest_at=t.optional("digest_at", _clock_time),
    )
    t.finish()
    return settings


def _metrics(t: r.Table) -> MetricsSettings:
    settings = MetricsSettings(listen=t.optional("listen", r.host_port))
    t.finish()
    return settings


def _sender_entry(value: object) -> str:
    """An address, or a domain that covers its subdomains."""
    text = r.nonempty(value).strip().lower()
    if "@" in text:
        return r.address(text)
    if any(c.isspace() for c in text) or "." not in text.strip("."):
        raise ValueError("must be addresses or domains, such as spam@example.net or example.net")
    return text.strip(".")


def _spam(t: r.Table) -> SpamSettings:
    settings = SpamSettings(
        mta_headers=t.get("mta_headers", r.boolean, True),
        block=t.get("block", r.list_of(_sender_entry), ()),
        allow=t.get("allow", r.list_of(_sender_entry), ()),
    )
    t.finish()
    return settings


def _retention(t: r.Table) -> RetentionSettings:
    settings = RetentionSettings(raw_messages=t.optional("raw_messages", r.positive_duration))
    t.finish()
    return settings


def _notifications(t: r.Table) -> NotificationSettings:
    settings = NotificationSettings(
        answered=t.get("answered", r.choice(*ANSWERED), "others"),
        flood_threshold=t.get("flood_threshold", r.integer(1, 100000), 20),
    )
    t.finish()
    return settings
