"""`mailtickets import`, `tickets` and `quarantine` through the real command line."""

from __future__ import annotations

import json
import mailbox
import re
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from mailtickets.db.models import InboundMessage, IntakeStatus
from tests.support.cli import mailtickets

CORPUS = Path(__file__).parents[2] / "data" / "corpus"
CPYTHON_CORPUS = Path(sysconfig.get_paths()["stdlib"]) / "test" / "test_email" / "data"
CONFIG = """
[database]
url = "sqlite:///{db}"
[tickets]
subject_prefix = "ACME"
[[queue]]
address = "support@acme.example"
[[agent]]
address = "alice@acme.example"
name = "Alice"
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    config = tmp_path / "site.toml"
    config.write_text(CONFIG.format(db=tmp_path / "mt.db"))
    assert _run(tmp_path, "db", "upgrade").returncode == 0
    return tmp_path


def _run(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return mailtickets("--config", str(site / "site.toml"), "--log-level", "error", *args, cwd=site)


def _rows(site: Path) -> list[InboundMessage]:
    engine = create_engine(f"sqlite:///{site / 'mt.db'}")
    with engine.connect() as connection:
        rows = list(connection.execute(select(InboundMessage)))
    engine.dispose()
    return rows  # type: ignore[return-value]


def _summary(output: str) -> dict[str, int]:
    return {label: int(n) for n, label in re.findall(r"(\d+) ([a-z ,-]+?)(?:,|$)", output)}


def test_every_message_of_cpythons_corpus_is_a_ticket_event_or_quarantined(site: Path) -> None:
    files = sorted(CPYTHON_CORPUS.glob("msg_*.txt"))
    assert len(files) > 40, f"CPython's email corpus not found at {CPYTHON_CORPUS}"
    copy = site / "cpython"
    copy.mkdir()
    for path in files:
        shutil.copy(path, copy)
    result = _run(site, "import", "--queue", "support@acme.example", str(copy))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.startswith(f"{len(files)} messages: ")
    rows = _rows(site)
    counts = _summary(result.stdout)
    assert len(rows) + counts.get("already there", 0) + counts.get("duplicates", 0) >= len(files)
    for row in rows:
        assert row.status != IntakeStatus.PENDING, f"intake #{row.id} left pending"
        if row.status == IntakeStatus.QUARANTINED:
            assert row.last_error, f"intake #{row.id} quarantined without a reason"
    done = [r for r in rows if r.status == IntakeStatus.DONE]
    assert len(done) > len(files) // 2


def test_reimporting_an_mbox_and_a_maildir_creates_nothing_new(site: Path) -> None:
    box = mailbox.mbox(site / "archive.mbox")
    folder = mailbox.Maildir(site / "Maildir")
    for path in sorted(CORPUS.glob("*.eml")):
        box.add(path.read_bytes())
        folder.add(path.read_bytes())
    box.close()
    first = _run(site, "import", str(site / "archive.mbox"))
    assert first.returncode == 0, first.stderr
    counts = _summary(first.stdout)
    assert counts["new tickets"] > 20 and counts["bounces"] == 4
    tickets_before = json.loads(_run(site, "tickets", "list", "--json").stdout)

    again = _run(site, "import", str(site / "archive.mbox"), str(site / "Maildir"))
    assert again.returncode == 0, again.stderr
    total = 2 * len(list(CORPUS.glob("*.eml")))
    assert again.stdout.strip() == f"{total} messages: {total} already there"
    assert json.loads(_run(site, "tickets", "list", "--json").stdout) == tickets_before


def test_tickets_list_and_show_json_carry_the_documented_fields(site: Path) -> None:
    assert _run(site, "import", str(CORPUS / "gmail-new-request.eml")).returncode == 0
    assert _run(site, "import", str(CORPUS / "gmail-reply.eml")).returncode == 0
    (listed,) = json.loads(_run(site, "tickets", "list", "--json").stdout)
    assert set(listed) >= {
        "id",
        "subject",
        "status",
        "priority",
        "queue",
        "customer",
        "assignee",
        "messages",
        "created_at",
        "updated_at",
    }
    assert listed["messages"] == 2
    shown = json.loads(_run(site, "tickets", "show", str(listed["id"]), "--json").stdout)
    assert set(shown) >= {
        "id",
        "subject",
        "status",
        "priority",
        "queue",
        "customer",
        "participants",
        "assignee",
        "messages",
    }
    incoming = [m for m in shown["messages"] if m["direction"] == "in"]
    assert [m["kind"] for m in incoming] == ["customer", "customer"]
    for message in shown["messages"]:
        assert set(message) >= {
            "message_id",
            "direction",
            "author",
            "kind",
            "date",
            "new_text",
            "attachments",
        }
    assert "wrote:" not in incoming[1]["new_text"]
    text = _run(site, "tickets", "show", str(listed["id"]))
    assert text.returncode == 0 and f"#{listed['id']} " in text.stdout
    missing = _run(site, "tickets", "show", "999")
    assert (missing.returncode, missing.stderr.strip()) == (1, "mailtickets: no ticket #999")


def test_quarantine_list_show_retry_and_discard(site: Path) -> None:
    (site / "headless.eml").write_bytes(b"no headers, no sender, nothing\n")
    (site / "empty.eml").write_bytes(b"")
    result = _run(site, "import", str(site / "headless.eml"), str(site / "empty.eml"))
    assert result.stdout.strip() == "2 messages: 2 quarantined"
    listed = _run(site, "quarantine", "list")
    assert "no sender address" in listed.stdout and "empty message" in listed.stdout
    assert listed.stdout.strip().endswith("2 quarantined message(s)")
    ids = sorted(r.id for r in _rows(site))
    shown = _run(site, "quarantine", "show", str(ids[0]))
    assert "reason: no sender address" in shown.stdout
    assert _run(site, "quarantine", "retry", str(ids[0])).stdout.strip() == (
        "1 message(s) queued for processing again"
    )
    assert _run(site, "quarantine", "discard", str(ids[1])).returncode == 0
    statuses = {r.id: r.status for r in _rows(site)}
    assert statuses == {ids[0]: IntakeStatus.PENDING, ids[1]: IntakeStatus.DISCARDED}
    gone = _run(site, "quarantine", "show", str(ids[1]))
    assert (gone.returncode, gone.stderr.strip()) == (
        1,
        f"mailtickets: no quarantined message #{ids[1]}",
    )
    both = _run(site, "quarantine", "retry")
    assert (both.returncode, both.stderr.strip()) == (
        1,
        "mailtickets: give one message id or --all",
    )


def test_agents_list_shows_the_queues_each_agent_serves(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text(
        '[[queue]]\naddress = "support@acme.example"\n'
        '[[queue]]\naddress = "vendas@acme.example"\nname = "Vendas"\n'
        '[[agent]]\naddress = "alice@acme.example"\nname = "Alice"\nrole = "manager"\n'
        '[[agent]]\naddress = "bruno@acme.example"\nname = "Bruno"\nqueues = ["Vendas"]\n'
    )
    upgraded = mailtickets("--config", str(config), "db", "upgrade", cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    result = mailtickets("--config", str(config), "agents", "list", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    nobody_away = {"state": "available", "away_until": None, "away_how": None}
    assert json.loads(result.stdout) == [
        {
            "address": "alice@acme.example",
            "name": "Alice",
            "role": "manager",
            "queues": ["support@acme.example", "vendas@acme.example"],
            **nobody_away,
            "open": 0,
            "followed": 0,
        },
        {
            "address": "bruno@acme.example",
            "name": "Bruno",
            "role": "agent",
            "queues": ["vendas@acme.example"],
            **nobody_away,
            "open": 0,
            "followed": 0,
        },
    ]


def test_ticket_operations_and_status_from_the_cli(site: Path) -> None:
    # As new mail: acknowledged, and announced to the agents.
    new = _run(site, "import", "--notify", str(CORPUS / "gmail-new-request.eml"))
    assert new.returncode == 0
    assert _run(site, "tickets", "assign", "1", "alice@acme.example").stdout.strip() == (
        "#1: assigned to alice@acme.example"
    )
    assert _run(site, "tickets", "note", "1", "Called her back").returncode == 0
    assert _run(site, "tickets", "close", "1").stdout.strip() == "#1: closed"
    shown = json.loads(_run(site, "tickets", "show", "1", "--json").stdout)
    assert (shown["status"], shown["assignee"]) == ("closed", "alice@acme.example")
    assert [m["new_text"] for m in shown["messages"] if m["kind"] == "note"] == ["Called her back"]
    assert _run(site, "tickets", "reopen", "1").stdout.strip() == "#1: open"
    unknown = _run(site, "tickets", "assign", "1", "nobody@acme.example")
    assert (unknown.returncode, unknown.stderr.strip()) == (
        1,
        "mailtickets: no agent nobody@acme.example",
    )
    state = json.loads(_run(site, "status", "--json").stdout)
    assert state["intake"]["done"] == 1
    assert state["outbox"]["pending"] == 2  # the acknowledgement and Alice's notice
    assert state["tickets"] == {"support@acme.example": {"open": 1}}
    assert "intake:  0 pending, 0 quarantined, 1 done" in _run(site, "status").stdout


def test_sla_show_and_due_filters(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text(
        CONFIG.format(db=tmp_path / "mt.db").replace(
            '[[queue]]\naddress = "support@acme.example"\n',
            '[[queue]]\naddress = "support@acme.example"\nsla = "std"\n',
        )
        + '[[sla]]\nname = "std"\nfirst_response = "1h"\nresolution = "100d"\n'
    )
    site = tmp_path
    assert _run(site, "db", "upgrade").returncode == 0
    # As new mail: its clocks start now (history keeps none).
    new = _run(site, "import", "--notify", str(CORPUS / "gmail-new-request.eml"))
    assert new.returncode == 0
    shown = json.loads(_run(site, "sla", "show", "1", "--json").stdout)
    assert (shown["policy"], shown["state"]) == ("std", "running")
    assert [c["kind"] for c in shown["clocks"]] == ["first response", "resolution"]
    due_soon = json.loads(_run(site, "tickets", "list", "--due-within", "2h", "--json").stdout)
    assert [t["id"] for t in due_soon] == [1]
    assert json.loads(_run(site, "tickets", "list", "--due-within", "10m", "--json").stdout) == []
    assert json.loads(_run(site, "tickets", "list", "--breached", "--json").stdout) == []
    bad = _run(site, "tickets", "list", "--due-within", "soon")
    assert bad.returncode == 1 and bad.stderr.startswith("mailtickets: --due-within soon: ")
    # Past the last date there is: one line, not a traceback.
    beyond = _run(site, "tickets", "list", "--due-within", "99999999d")
    assert beyond.returncode == 1
    assert beyond.stderr == "mailtickets: --due-within 99999999d: too far ahead for a date\n"
