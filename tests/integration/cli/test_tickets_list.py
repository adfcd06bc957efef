"""`mailtickets tickets list`: each ticket as `tickets show` has it, filtered as asked, on
SQLite and on PostgreSQL, and on a SQLite file without importing SQLAlchemy (it reads through
`sqlite3`: importing SQLAlchemy takes longer than the command may take in all)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import SECRET, environment, mailtickets
from tests.support.helpdesk import Helpdesk, make_helpdesk
from tests.support.mail import compose

CONFIG = """
[database]
url = "{url}"
[storage]
dir = "{directory}"
[tickets]
subject_prefix = "ACME"
secret_env = "SECRET"
[[queue]]
address = "support@acme.example"
name = "Support"
sla = "std"
[[queue]]
address = "vendas@acme.example"
name = "Vendas"
[[agent]]
address = "alice@acme.example"
name = "Alice"
[[sla]]
name = "std"
first_response = "1h"
next_response = "2h"
resolution = "1d"
"""
#: The fields of `tickets show --json` that `tickets list --json` repeats.
SHOWN = (
    "id", "subject", "status", "priority", "queue", "customer", "assignee", "created_at",
    "updated_at",
)  # fmt: skip


@pytest.fixture
def desk(database_url: str, tmp_path: Path) -> Iterator[Helpdesk]:
    helpdesk = make_helpdesk(database_url, tmp_path, config=CONFIG)
    (tmp_path / "site.toml").write_text(CONFIG.format(url=database_url, directory=tmp_path))
    # The command line reads the wall clock: the helpdesk's starts there, so that "due within"
    # means the same moment to both.
    helpdesk.clock.advance(datetime.now(UTC).replace(microsecond=0) - helpdesk.clock.now())
    yield helpdesk
    helpdesk.app.engine.dispose()


def _cli(desk: Helpdesk, *args: str) -> str:
    site = Path(desk.app.settings.storage.dir)
    done = mailtickets("--config", str(site / "site.toml"), *args, cwd=site, env={"SECRET": SECRET})
    assert done.returncode == 0, done.stderr
    return done.stdout


def _listed(desk: Helpdesk, *args: str) -> list[int]:
    return [row["id"] for row in json.loads(_cli(desk, "tickets", "list", "--json", *args))]


def _as_listed(shown: dict[str, Any], messages: int) -> dict[str, Any]:
    """What `tickets list --json` shows of a ticket `tickets show --json` shows, which has
    `messages` messages stored (the conversation shown holds the mail sent too)."""
    return {**{key: shown[key] for key in SHOWN}, "messages": messages}


def test_each_ticket_is_listed_as_shown_and_filtered_as_asked(desk: Helpdesk) -> None:
    ana = desk.deliver(compose(subject="Printer on fire")).ticket_id
    bob = desk.deliver(
        compose(sender="Bob <bob@example.com>", to="vendas@acme.example", subject="Preço"),
        rcpt=("vendas@acme.example",),
    ).ticket_id
    carla = desk.deliver(compose(sender="carla@example.com", subject="Scanner")).ticket_id
    assert ana is not None and bob is not None and carla is not None
    assert desk.agent_says(ana, "#assign alice@acme.example\n#priority high").outcome == "commands"
    desk.agent_says(carla, "Turn it off and on again.")
    _cli(desk, "tickets", "close", str(bob))

    listed = json.loads(_cli(desk, "tickets", "list", "--json"))
    # Carla's and the agent's answer; the others' alone.
    assert listed == [
        _as_listed(desk.ticket(ana), 1),
        _as_listed(desk.ticket(bob), 1),
        _as_listed(desk.ticket(carla), 2),
    ]
    assert (listed[0]["assignee"], listed[0]["priority"]) == ("alice@acme.example", "high")
    assert (listed[1]["status"], listed[1]["assignee"]) == ("closed", None)

    assert _listed(desk, "--status", "open") == [ana]
    assert _listed(desk, "--status", "pending") == [carla]
    assert _listed(desk, "--status", "closed") == [bob]
    assert _listed(desk, "--queue", "Vendas") == [bob]
    assert _listed(desk, "--queue", "SUPPORT@acme.example") == [ana, carla]
    # Ana's first response is due within the hour; Vendas has no SLA, Bob's ticket is closed.
    assert _listed(desk, "--due-within", "2h") == [ana]
    assert _listed(desk, "--due-within", "10m") == []
    assert _listed(desk, "--breached") == []

    text = _cli(desk, "tickets", "list").splitlines()
    assert text[0].split() == ["id", "status", "priority", "customer", "msgs", "updated", "subject"]
    updated = datetime.fromisoformat(listed[0]["updated_at"]).astimezone(UTC)
    assert text[1].split() == [
        f"#{ana}", "open", "high", "ana@example.com", "1",
        *f"{updated:%Y-%m-%d %H:%M}".split(), "Printer", "on", "fire",
    ]  # fmt: skip
    assert text[2].split()[:3] == [f"#{bob}", "closed", "normal"]
    assert text[3].split()[:5] == [f"#{carla}", "pending", "normal", "carla@example.com", "2"]
    assert text[-1] == "3 ticket(s)"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_on_a_sqlite_file_the_list_imports_neither_sqlalchemy_nor_the_models(
    desk: Helpdesk,
) -> None:
    desk.deliver(compose())
    site = Path(desk.app.settings.storage.dir)
    heavy = ("sqlalchemy", "mailtickets.db.models", "mailtickets.app")
    probe = (
        "import sys\nfrom mailtickets.cli import main\n"
        f"main({['--config', str(site / 'site.toml'), 'tickets', 'list']!r}, "
        "standalone_mode=False)\n"
        f"print([m for m in {heavy!r} if m in sys.modules], file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=site,
        env=environment({"SECRET": SECRET}),
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.splitlines()[-1] == "1 ticket(s)"
    assert done.stderr.strip() == "[]"
