"""The command line imports a command's module only when that command runs: the table that
says where each command lives must name every command, in the module that defines it."""

from __future__ import annotations

import pkgutil
from importlib import import_module

from click.testing import CliRunner

import mailtickets.cli
from mailtickets.cli import _COMMANDS, main


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
