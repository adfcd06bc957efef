"""The command line imports a command's module only when that command runs: the table that
says where each command lives must name every command, in the module that defines it."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from importlib import import_module

import click
from click.testing import CliRunner

import mailtickets.cli
from mailtickets.cli import _COMMANDS, main
from mailtickets.cli.tickets import _TICKET_COMMANDS, tickets
from tests.support.cli import environment


def test_every_command_of_every_module_is_found_where_the_table_says() -> None:
    defined = {}
    for module in pkgutil.iter_modules(mailtickets.cli.__path__):
        for command in getattr(import_module(f"mailtickets.cli.{module.name}"), "COMMANDS", []):
            defined[command.name] = module.name
    assert defined == _COMMANDS


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0, result.output
    listed = result.output.split("Commands:", 1)[1].split()
    assert set(_COMMANDS) <= set(listed)


def test_the_command_line_alone_imports_neither_the_database_nor_the_application() -> None:
    # What `mailtickets --version` (and every command, before its own module) pays for.
    heavy = ("sqlalchemy", "alembic", "jinja2", "mailtickets.app", "mailtickets.config")
    probe = f"import sys, mailtickets.cli; print([m for m in {heavy!r} if m in sys.modules])"
    done = subprocess.run(
        [sys.executable, "-c", probe], env=environment(), capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def test_every_tickets_command_is_found_where_its_table_says() -> None:
    defined: dict[str | None, str] = {}
    for module in pkgutil.iter_modules(mailtickets.cli.__path__):
        found = getattr(import_module(f"mailtickets.cli.{module.name}"), "TICKET_COMMANDS", [])
        defined |= {command.name: module.name for command in found}
    assert defined == _TICKET_COMMANDS
    assert set(tickets.list_commands(click.Context(tickets))) == {"list", *_TICKET_COMMANDS}
