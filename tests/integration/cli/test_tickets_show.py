"""`mailtickets tickets show`: the new text by default, the whole message with --full."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import mailtickets

CONFIG = """
[database]
url = "sqlite:///{db}"
[[queue]]
address = "support@acme.example"
"""
REPLY = """\
From: Ana Souza <ana@example.com>
To: support@acme.example
Subject: Export fails
Message-ID: <reply-1@example.com>
Date: Thu, 16 May 2024 10:05:00 +0000
Content-Type: text/plain; charset=utf-8

Still failing after the update.

Best regards,
Ana Souza
Operations Manager

Am Do., 16. Mai 2024 um 10:02 Uhr schrieb Acme Support <support@acme.example>:
> Could you update to version 4.1 and try again?
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "site.toml").write_text(CONFIG.format(db=tmp_path / "mt.db"))
    assert _run(tmp_path, "db", "upgrade").returncode == 0
    (tmp_path / "reply.eml").write_text(REPLY)
    imported = _run(tmp_path, "import", str(tmp_path / "reply.eml"))
    assert imported.returncode == 0, imported.stderr
    return tmp_path


def _run(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return mailtickets("--config", str(site / "site.toml"), "--log-level", "error", *args, cwd=site)


def _ticket(site: Path) -> str:
    (listed,) = json.loads(_run(site, "tickets", "list", "--json").stdout)
    return str(listed["id"])


def test_show_prints_only_what_the_sender_wrote(site: Path) -> None:
    shown = _run(site, "tickets", "show", _ticket(site))
    assert shown.returncode == 0, shown.stderr
    assert "Still failing after the update." in shown.stdout
    for history in ("Best regards,", "Operations Manager", "schrieb Acme Support", "version 4.1"):
        assert history not in shown.stdout


def test_show_full_prints_the_whole_message(site: Path) -> None:
    shown = _run(site, "tickets", "show", _ticket(site), "--full")
    assert shown.returncode == 0, shown.stderr
    body = REPLY.split("\n\n", 1)[1].rstrip("\n")
    assert body in shown.stdout


def test_show_json_carries_both_texts(site: Path) -> None:
    shown = json.loads(_run(site, "tickets", "show", _ticket(site), "--json").stdout)
    (message,) = [m for m in shown["messages"] if m["direction"] == "in"]
    assert message["new_text"] == "Still failing after the update."
    assert "> Could you update to version 4.1 and try again?" in message["body"]
