"""`mailtickets deliver`: pipe delivery from an MTA, whose exit code the MTA acts on."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from mailtickets.db import migrate
from mailtickets.db.base import make_engine, session_factory
from mailtickets.db.models import InboundMessage
from tests.support.cli import SECRET, mailtickets
from tests.support.smtp import message

EX_DATAERR, EX_NOUSER, EX_TEMPFAIL = 65, 67, 75


def write_config(tmp_path: Path, url: str) -> str:
    path = tmp_path / "site.toml"
    path.write_text(
        f'[database]\nurl = "{url}"\n'
        f'[storage]\ndir = "{tmp_path / "var"}"\n'
        '[[queue]]\naddress = "support@acme.example"\naliases = ["help@acme.example"]\n'
        '[[queue]]\naddress = "billing@acme.example"\n'
    )
    return str(path)


@pytest.fixture
def config(tmp_path: Path, sqlite_url: str) -> str:
    engine = make_engine(sqlite_url)
    migrate.upgrade(engine)
    engine.dispose()
    return write_config(tmp_path, sqlite_url)


def rows(url: str) -> list[InboundMessage]:
    engine = make_engine(url)
    with session_factory(engine)() as session:
        query = select(InboundMessage).options(selectinload(InboundMessage.body))
        found = list(session.scalars(query.order_by(InboundMessage.id)))
    engine.dispose()
    return found


def error_line(stderr: str) -> str:
    """The one line an operator or a bounce sees; never a traceback."""
    lines = [line for line in stderr.splitlines() if line.startswith("mailtickets: ")]
    assert "Traceback" not in stderr
    assert len(lines) == 1, stderr
    return lines[0]


def test_a_piped_message_is_stored_once(config: str, sqlite_url: str, tmp_path: Path) -> None:
    raw = message()
    sender, recipient = "carol@customer.example", "support+a1b2@acme.example"
    args = ("--config", config, "deliver", "--sender", sender, "--recipient", recipient)
    first = mailtickets(*args, cwd=tmp_path, stdin=raw)
    assert first.returncode == 0, first.stderr
    assert first.stdout == "stored as intake #1\n"
    # The MTA retries after a lost exit status: still exit 0, still one message.
    again = mailtickets(*args, cwd=tmp_path, stdin=raw)
    assert again.returncode == 0, again.stderr
    assert again.stdout == "already stored as intake #1\n"

    [row] = rows(sqlite_url)
    assert (row.source, row.mail_from) == ("pipe", "carol@customer.example")
    assert row.rcpt_to == ["support+a1b2@acme.example"]
    assert row.raw == raw


@pytest.mark.parametrize(
    ("options", "recipient"),
    [
        ("", "support@acme.example"),  # the first queue
        ("--queue billing@acme.example", "billing@acme.example"),
        ("--queue billing@acme.example --recipient help@acme.example", "help@acme.example"),
    ],
)
def test_the_recipient_defaults_to_the_queue(
    config: str, sqlite_url: str, tmp_path: Path, options: str, recipient: str
) -> None:
    args = ("--config", config, "deliver", *options.split())
    result = mailtickets(*args, cwd=tmp_path, stdin=message())
    assert result.returncode == 0, result.stderr
    [row] = rows(sqlite_url)
    assert (row.rcpt_to, row.mail_from) == ([recipient], None)


def test_an_empty_message_is_a_data_error(config: str, sqlite_url: str, tmp_path: Path) -> None:
    result = mailtickets("--config", config, "deliver", cwd=tmp_path, stdin=b"\r\n")
    assert result.returncode == EX_DATAERR
    assert error_line(result.stderr) == "mailtickets: the message on standard input is empty"
    assert rows(sqlite_url) == []


@pytest.mark.parametrize(
    "options",
    [
        ("--recipient", "nobody@acme.example"),
        ("--recipient", "support@other.example"),
        ("--queue", "nobody@acme.example"),
    ],
)
def test_an_unknown_recipient_is_no_such_user(
    config: str, sqlite_url: str, tmp_path: Path, options: tuple[str, str]
) -> None:
    result = mailtickets("--config", config, "deliver", *options, cwd=tmp_path, stdin=message())
    assert result.returncode == EX_NOUSER
    assert error_line(result.stderr) == (f"mailtickets: {options[1]} is not the address of a queue")
    assert rows(sqlite_url) == []


def test_a_missing_database_is_a_temporary_failure_and_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    config = write_config(tmp_path, f"sqlite:///{missing}")
    result = mailtickets("--config", config, "deliver", cwd=tmp_path, stdin=message())
    assert result.returncode == EX_TEMPFAIL
    assert error_line(result.stderr) == (
        f"mailtickets: the message was not stored, try again later: {missing}: no such "
        "database; run `mailtickets db upgrade` to create it"
    )
    assert not missing.exists()


def test_a_database_not_yet_upgraded_is_a_temporary_failure(tmp_path: Path) -> None:
    (tmp_path / "empty.db").touch()
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'empty.db'}")
    result = mailtickets("--config", config, "deliver", cwd=tmp_path, stdin=message())
    assert result.returncode == EX_TEMPFAIL
    assert error_line(result.stderr) == (
        "mailtickets: the message was not stored, try again later: the database is empty "
        f"but this version needs {migrate.head()}; run `mailtickets db upgrade` first"
    )


def test_an_unreachable_database_is_a_temporary_failure(tmp_path: Path) -> None:
    config = write_config(tmp_path, "postgresql+psycopg://nobody@127.0.0.1:1/none")
    shared = {"MAILTICKETS_SECRET": SECRET}
    result = mailtickets("--config", config, "deliver", cwd=tmp_path, stdin=message(), env=shared)
    assert result.returncode == EX_TEMPFAIL
    line = error_line(result.stderr)
    assert line.startswith("mailtickets: the message was not stored, try again later: ")
    assert "127.0.0.1" in line


def test_a_broken_configuration_is_a_temporary_failure(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text('[[queue]]\naddress = "support"\n')
    result = mailtickets("--config", str(config), "deliver", cwd=tmp_path, stdin=message())
    assert result.returncode == EX_TEMPFAIL
    assert error_line(result.stderr) == (
        "mailtickets: the message was not stored, try again later: [queue.support] address: "
        f'must be a mail address such as support@example.com, got "support" ({config})'
    )


@pytest.mark.parametrize(
    ("args", "mistake"),
    [
        (("--confg", "site.toml", "deliver"), "No such option '--confg'. Did you mean '--config'?"),
        (("deliver", "--recipient"), "Option '--recipient' requires an argument."),
        (
            ("deliver", "--recipient", "a@acme.example", "b@acme.example"),
            "Got unexpected extra argument (b@acme.example)",
        ),
    ],
    ids=["global option", "missing value", "two recipients"],
)
def test_a_mistake_in_the_pipe_command_line_is_a_temporary_failure(
    tmp_path: Path, args: tuple[str, ...], mistake: str
) -> None:
    # The MTA's configuration is wrong, not the sender: it must keep the message (not exit 2).
    result = mailtickets(*args, cwd=tmp_path, stdin=message())
    assert result.returncode == EX_TEMPFAIL
    assert error_line(result.stderr) == (
        f"mailtickets: the message was not stored, try again later: {mistake}"
    )


def test_an_unexpected_error_is_a_temporary_failure_named_by_its_type(tmp_path: Path) -> None:
    # An exception none of our handlers knows, as a bug would raise: SQLAlchemy's warning
    # about an unknown URL parameter, turned into an error by the interpreter.
    (tmp_path / "mt.db").touch()
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'mt.db'}?nonsense=1")
    result = mailtickets(
        "--config",
        config,
        "deliver",
        cwd=tmp_path,
        stdin=message(),
        env={"PYTHONWARNINGS": "error::RuntimeWarning"},
    )
    assert result.returncode == EX_TEMPFAIL
    assert error_line(result.stderr).startswith(
        "mailtickets: the message was not stored, try again later: SAWarning: "
        "Query string argument(s) 'nonsense' are not accepted"
    )
