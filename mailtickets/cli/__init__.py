"""The `mailtickets` command line: thin commands over the services.

Errors the library raises on purpose become one line on stderr and an exit code; a traceback
is only ever shown for a bug.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any, NoReturn

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from mailtickets import __version__
from mailtickets.app import App, build_app
from mailtickets.config import Settings, load_settings, search_path_from
from mailtickets.errors import ConfigError, MailticketsError, NotFound
from mailtickets.logs import configure_logging
from mailtickets.storage import act_as_owner

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
            act_as_owner(settings.storage.dir)
            self._acting = True
        return settings

    def app(self) -> App:
        return build_app(self.settings_as_owner())

    def which_database(self) -> str:
        """` (URL)` of the database in use, password hidden, for error lines; "" before the
        settings are read."""
        if self._settings is None:
            return ""
        url = make_url(self._settings.database.url).render_as_string(hide_password=True)
        return f" ({url})"

    def reload_settings(self) -> Settings:
        """The settings read afresh from the same file and environment."""
        return load_settings(self.config, self.env_file, search_path=self.search_path)


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    click.echo(f"mailtickets: {message}", err=True)
    raise SystemExit(code)


class Group(click.Group):
    """A group whose commands report our errors as single lines, not tracebacks."""

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
        except SQLAlchemyError as exc:
            fail(f"database error: {first_line(exc)}{_which_database(ctx)}")
        except OSError as exc:
            # A file or directory that cannot be read or written: named, no traceback.
            fail(first_line(exc))


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


@click.group(cls=Group)
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
    configure_logging(log_level)
    ctx.obj = CliContext(config, env_file, search_path_from(os.environ))


#: The modules of the command line, each with its `COMMANDS`.
_MODULES = (
    "agents",
    "check",
    "contacts",
    "db",
    "deliver",
    "imap",
    "imports",
    "outbox",
    "quarantine",
    "report",
    "rules",
    "run",
    "secret",
    "status",
    "tickets",
    "webhooks",
)


def _register() -> None:
    # Imported here: the modules import this one for `CliContext` and `fail`.
    for name in _MODULES:
        for command in import_module(f"mailtickets.cli.{name}").COMMANDS:
            main.add_command(command)


_register()
