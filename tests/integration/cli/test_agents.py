"""`mailtickets agents away|back|list`: an operator marks an agent away and back; the list
shows who is away until when, with a header row and as JSON; mistakes change nothing."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import SECRET, mailtickets

SITE = """
[[queue]]
address = "support@acme.example"
[[agent]]
address = "alice@acme.example"
name = "Alice"
[[agent]]
address = "bruno@acme.example"
name = "Bruno"
"""


def _run(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    result = mailtickets(
        "--config", str(tmp_path / "site.toml"), *args, cwd=tmp_path,
        env={"MAILTICKETS_SECRET": SECRET},
    )  # fmt: skip
    return result.returncode, result.stdout, result.stderr


def test_agents_away_and_back(tmp_path: Path) -> None:
    (tmp_path / "site.toml").write_text(SITE)
    assert _run(tmp_path, "db", "upgrade")[0] == 0

    assert _run(tmp_path, "agents", "away", "Alice@acme.example", "--until", "24/12/2099") == (
        0,
        "alice@acme.example: away until 2099-12-24\n",
        "",
    )
    assert _run(tmp_path, "agents", "away", "bruno@acme.example")[1] == (
        "bruno@acme.example: away\n"
    )
    lines = _run(tmp_path, "agents", "list")[1].splitlines()
    assert lines[0].split() == ["address", "name", "role", "state", "open", "followed", "queues"]
    assert lines[1].split() == [
        "alice@acme.example", "Alice", "agent", "away", "until", "2099-12-24", "0", "0",
        "support@acme.example",
    ]  # fmt: skip
    assert lines[2].split()[3] == "away"

    assert _run(tmp_path, "agents", "back", "bruno@acme.example")[1] == (
        "bruno@acme.example: available\n"
    )
    assert _run(tmp_path, "agents", "back", "bruno@acme.example")[1] == (
        "bruno@acme.example: available (was not away)\n"
    )
    rows = json.loads(_run(tmp_path, "agents", "list", "--json")[1])
    assert [(r["state"], r["away_until"], r["away_how"]) for r in rows] == [
        ("away", "2099-12-24T00:00:00+00:00", "cli"),
        ("available", None, None),
    ]


def test_agents_away_mistakes_change_nothing(tmp_path: Path) -> None:
    (tmp_path / "site.toml").write_text(SITE)
    assert _run(tmp_path, "db", "upgrade")[0] == 0
    assert _run(tmp_path, "agents", "away", "alice@acme.example", "--until", "2020-01-01") == (
        1,
        "",
        "mailtickets: --until 2020-01-01: 2020-01-01 is not in the future\n",
    )
    assert _run(tmp_path, "agents", "away", "alice@acme.example", "--until", "soon")[2] == (
        "mailtickets: --until soon: not a date such as 2026-12-24 or 24/12/2026\n"
    )
    assert _run(tmp_path, "agents", "away", "zoe@acme.example")[:3:2] == (
        1,
        "mailtickets: no agent zoe@acme.example\n",
    )
    rows = json.loads(_run(tmp_path, "agents", "list", "--json")[1])
    assert {r["state"] for r in rows} == {"available"}
