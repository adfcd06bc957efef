"""The `mailtickets` command line: thin commands over the services.

Errors the library raises on purpose become one line on stderr and an exit code; a traceback
is only ever shown for a bug.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from mailtickets import __version__
from mailtickets.errors import ConfigError, MailticketsError, NotFound

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from sqlalchemy.orm import Session, sessionmaker

    from mailtickets.app import App
    from mailtickets.config import Settings
    from mailtickets.db.driver import Driver

EXIT_ERROR = 1
EXIT_CONFIG = 2
#: The command MTAs run; sysexits' EX_TEMPFAIL makes them keep the message and retry.
PIPE_COMMAND = "deliver"
EX_TEMPFAIL = 75
NOT_STORED = "the message was not stored, try again later"


@dataclass
class CliContext:
    config: Path | None
    env_file: Path | None
    #: Files looked for when neither --config nor $MAILTICKETS_CONFIG names one.
    search_path: Sequence[Path]
    _settings: Settings | None = None
    _acting: bool = False

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = self.reload_settings()
        return self._settings

    def settings_as_owner(self) -> Settings:
        """The settings, this process now acting as the owner of `[storage] dir`.

        Every command that opens the database or writes a file calls this first: root
        becomes the service user, anyone else but that user is refused (see `storage`).
        """
        settings = self.settings()
        if not self._acting:
            from mailtickets.storage import act_as_owner

            act_as_owner(settings.storage.dir)
            self._acting = True
        return settings

    def app(self) -> App:
        from mailtickets.app import build_app

        return build_app(self.settings_as_owner())

    def database(self) -> sessionmaker[Session]:
        """Sessions on the database, for a command that needs nothing else of the app (no
        signing key, templates or directory): it starts in a fraction of the time."""
        from mailtickets.db.migrate import open_current

        return open_current(self.settings_as_owner().database.url)

    def reader(self) -> AbstractContextManager[Driver]:
        """The database for reads written for its driver (see `db.driver`): a plain SQLite
        file through `sqlite3`, so that the command imports no SQLAlchemy; any other database
        through a session of `database()`."""
        from mailtickets.config.database_url import sqlite_file
        from mailtickets.db import driver

        file = sqlite_file(self.settings_as_owner().database.url)
        if file is not None:
            return driver.open_sqlite(Path(file))
        return driver.in_session(self.database())

    def which_database(self) -> str:
        """` (URL)` of the database in use, password hidden, for error lines; "" before the
        settings are read."""
        if self._settings is None:
            return ""
        from sqlalchemy.engine import make_url

        url = make_url(self._settings.database.url).render_as_string(hide_password=True)
        return f" ({url})"

    def reload_settings(self) -> Settings:
        """The settings read afresh from the same file and environment."""
        from mailtickets.config import load_settings

        return load_settings(self.config, self.env_file, search_path=self.search_path)


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    click.echo(f"mailtickets: {message}", err=True)
    raise SystemExit(code)


class LazyGroup(click.Group):
    """A group whose commands are imported only when asked for, so that each pays for its own
    imports only: `modules` names, for each command not defined with the group, the module of
    `mailtickets.cli` whose list `table` holds it."""

    def __init__(
        self, *args: Any, modules: Mapping[str, str], table: str = "COMMANDS", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.modules = modules
        self.table = table

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.modules})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = self.modules.get(cmd_name)
        if module is None:
            return super().get_command(ctx, cmd_name)
        commands: list[click.Command] = getattr(
            import_module(f"mailtickets.cli.{module}"), self.table
        )
        return next(command for command in commands if command.name == cmd_name)


class Group(LazyGroup):
    """The `mailtickets` group: its commands report our errors as single lines, not
    tracebacks."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            # A mistyped global option in an MTA's pipe command must not bounce mail (exit 2).
            if PIPE_COMMAND in args:
                fail(f"{NOT_STORED}: {exc.format_message()}", EX_TEMPFAIL)
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            for problem in exc.problems:
                click.echo(f"mailtickets: {problem}", err=True)
            raise SystemExit(EXIT_CONFIG) from exc
        except NotFound as exc:
            fail(str(exc))
        except MailticketsError as exc:
            fail(str(exc))
        except OSError as exc:
            # A file or directory that cannot be read or written: named, no traceback.
            fail(first_line(exc))
        except Exception as exc:
            if not _is_database_error(exc):
                raise
            fail(f"database error: {first_line(exc)}{_which_database(ctx)}")


def _is_database_error(exc: Exception) -> bool:
    # Imported only when something failed: a command that never touched the database must
    # not pay for importing SQLAlchemy (nor one that read SQLite through `sqlite3`).
    import sqlite3

    from sqlalchemy.exc import SQLAlchemyError

    return isinstance(exc, sqlite3.Error | SQLAlchemyError)


def _which_database(ctx: click.Context) -> str:
    cli = ctx.obj
    return cli.which_database() if isinstance(cli, CliContext) else ""


def first_line(exc: BaseException) -> str:
    """The cause of `exc` in one line; a file that cannot be used is named."""
    origin = getattr(exc, "orig", None) or exc  # SQLAlchemy wraps the driver's error
    if isinstance(origin, OSError) and origin.filename:
        return f"{origin.filename}: {origin.strerror}"
    text = str(origin).strip()
    return text.splitlines()[0] if text else type(origin).__name__


#: Each command and the module of the command line that defines it (in its `COMMANDS`).
_COMMANDS = {
    "agents": "agents",
    "check-config": "check",
    "contacts": "contacts",
    "db": "db",
    "deliver": "deliver",
    "imap": "imap",
    "import": "imports",
    "outbox": "outbox",
    "send-test": "outbox",
    "templates": "outbox",
    "quarantine": "quarantine",
    "report": "report",
    "rules": "rules",
    "run": "run",
    "secret": "secret",
    "status": "status",
    "tickets": "tickets",
    "sla": "sla",
    "webhooks": "webhooks",
}


@click.group(cls=Group, modules=_COMMANDS)
@click.version_option(__version__, prog_name="mailtickets")
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Config file (default: $MAILTICKETS_CONFIG, else the first of "
    "$MAILTICKETS_CONFIG_PATH or ./mailtickets.toml:/etc/mailtickets/config.toml that exists, "
    "else the embedded default).",
)
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File of secret variables (default: .env beside the config file).",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
@click.pass_context
def main(ctx: click.Context, config: Path | None, env_file: Path | None, log_level: str) -> None:
    """Email-driven support tickets."""
    from mailtickets.config import search_path_from
    from mailtickets.logs import configure_logging

    configure_logging(log_level)
    ctx.obj = CliContext(config, env_file, search_path_from(os.environ))
