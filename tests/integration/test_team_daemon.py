"""The real `mailtickets run`: an agent's Exchange out-of-office answer to our notice marks
them away until the day it names, runs nothing and reaches no customer; the agent is told."""

from __future__ import annotations

import json
import smtplib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.support.cli import SECRET, mailtickets
from tests.support.daemon import READY_LINE, Daemon
from tests.support.mail import compose
from tests.support.relay import Relay, free_port

ALICE = "alice@acme.example"
SETTLE_SECONDS = 60


@pytest.fixture
def relay() -> Iterator[Relay]:
    sink = Relay().up()
    yield sink
    sink.down()


def _site(tmp_path: Path, relay: Relay) -> tuple[Path, int]:
    port = free_port()
    config = tmp_path / "site.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path}/mt.db"\n[storage]\ndir = "{tmp_path}/var"\n'
        '[tickets]\nsubject_prefix = "ACME"\n[ingest]\npoll_interval = "1s"\n'
        '[[queue]]\naddress = "support@acme.example"\n'
        f'[[smtp]]\nhost = "127.0.0.1"\nport = {port}\n'
        f'[outgoing]\nhost = "127.0.0.1"\nport = {relay.port}\ntls = "none"\n'
        f'[[agent]]\naddress = "{ALICE}"\nname = "Alice"\n'
        '[[agent]]\naddress = "bruno@acme.example"\nname = "Bruno"\nrole = "manager"\n'
    )
    return config, port


def _cli(config: Path, *args: str) -> str:
    result = mailtickets(
        "--config", str(config), *args, cwd=config.parent, env={"MAILTICKETS_SECRET": SECRET}
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _send(port: int, sender: str, raw: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.sendmail(sender, ["support@acme.example"], raw)


def _mail_to(relay: Relay, address: str, subject_start: str) -> EmailMessage:
    """The first mail the relay got for `address` whose subject starts so, once it comes."""
    kept = relay.wait_for(
        lambda r: address in r.recipients and str(r.message["Subject"]).startswith(subject_start),
        SETTLE_SECONDS,
    )
    return kept.message


def test_an_exchange_auto_reply_marks_the_agent_away_and_runs_nothing(
    tmp_path: Path, relay: Relay
) -> None:
    config, port = _site(tmp_path, relay)
    _cli(config, "db", "upgrade")
    back = (datetime.now(UTC) + timedelta(days=10)).date()
    with Daemon(tmp_path, ("--config", str(config)), {"MAILTICKETS_SECRET": SECRET}) as daemon:
        daemon.wait_for(READY_LINE)
        _send(port, "ana@example.com", compose(subject="Printer on fire"))
        notice = _mail_to(relay, ALICE, "[ACME #1]")

        out_of_office = compose(
            sender=f"Alice <{ALICE}>",
            to=str(notice["From"]),
            subject=f"Automatic reply: {notice['Subject']}",
            in_reply_to=str(notice["Message-ID"]).strip("<>"),
            body=(
                "#status closed\n\n"
                f"I am out of the office until {back:%d %B %Y} with no access to email.\n"
            ),
            headers={"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"},
        )
        _send(port, ALICE, out_of_office)
        told = _mail_to(relay, ALICE, "Your automatic reply marked you away")
        assert daemon.stop() == 0, daemon.output

    assert told["Subject"] == f"Your automatic reply marked you away until {back:%Y-%m-%d}"
    agents = {row["address"]: row for row in json.loads(_cli(config, "agents", "list", "--json"))}
    assert (agents[ALICE]["state"], agents[ALICE]["away_until"]) == (
        "away",
        f"{back:%Y-%m-%d}T00:00:00+00:00",
    )
    assert agents["bruno@acme.example"]["state"] == "available"
    ticket = json.loads(_cli(config, "tickets", "show", "1", "--json"))
    assert ticket["status"] == "open"  # the #status line in the reply ran nothing
    assert ticket["messages"][-1]["kind"] == "auto"
    to_customer = [r for r in relay.received if "ana@example.com" in r.recipients]
    assert [str(r.message["Subject"]) for r in to_customer] == ["[ACME #1] Printer on fire"]
