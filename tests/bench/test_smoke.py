"""`make bench` at a tiny scale: every part runs and reports well-formed figures.

Benchmarks are not tests: nothing here looks at how fast anything was, only that the runner
still measures every part and writes its report.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.dovecot import require_dovecot
from tests.support.postgres import require_postgres

ROOT = Path(__file__).resolve().parents[2]
#: A figure row: label, a number with its unit, the runs, ratio and verdict columns.
ROW = re.compile(
    r"^\| (?P<label>[^|]+) \| (?P<median>[\d,]+\.\d) (?P<unit>\S+) \| (?P<runs>[^|]+) \|"
)
EXPECTED = (
    "Ceiling: stdlib parse only",
    "Parse of a message with a 1 MiB Subject line",
    "Parse of a message with a References line of 60,000 ids",
    "Ingest through SMTP, end to end (sqlite",
    "Ingest through `mailtickets import`",
    "IMAP backlog of 12 messages",
    "IMAP poller alone: a backlog of 12 messages",
    "IMAP IDLE: APPEND → row in the intake, median of 12",
    "Stopping a poller in the middle of an hour-long IDLE",
    "Receive → acknowledgement at 50% of capacity",
    "SLA sweep, 1,000 open tickets, 100 due (sqlite)",
    "Daemon peak RSS with a 1 MB attachment",
    "Daemon peak RSS over ten 1 MB attachments one after another",
    "Ingest through SMTP, end to end (postgresql",
    "SLA sweep, 1,000 open tickets, 100 due (postgresql)",
    "Ingest through SMTP, 1 instance on one PostgreSQL",
    "Ingest through SMTP, 3 instances on one PostgreSQL",
    "Throughput of 3 instances over 1",
    "Quote stripping, ",
    "flufl.bounce's 115 real bounces: tickets opened",
    "Failed addresses found where flufl.bounce finds them",
    "Recognised as bounces: dsn samples",
    "Auto-reply and bulk signals recognised, each alone",
    "Threading: messages in the ticket of their conversation",
    "`mailtickets --version`, whole process",
    "`mailtickets tickets list` over 1,000 tickets (sqlite)",
)


@pytest.mark.slow
def test_the_runner_measures_every_part_and_writes_its_report(tmp_path: Path) -> None:
    require_postgres()
    require_dovecot()
    output = tmp_path / "RESULTS.md"
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--scale", "smoke", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,  # a hang guard, not a speed check: the parts start slowly on 2 busy cores
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = output.read_text()
    assert "## Not measured" not in report
    assert re.search(r"^- Commit: [0-9a-f]{7,}", report, re.MULTILINE)
    assert re.search(r"^- Python 3\.\d+", report, re.MULTILINE)
    rows = [match for line in report.splitlines() if (match := ROW.match(line))]
    labels = [row["label"] for row in rows]
    for expected in EXPECTED:
        assert any(label.startswith(expected) for label in labels), (expected, labels)
    for row in rows:
        assert float(row["median"].replace(",", "")) >= 0
        assert all(float(run) >= 0 for run in row["runs"].split(","))
    assert "## Quote stripping by kind" in report and "## Quote stripping by language" in report
    ratio = next(line for line in report.splitlines() if "Ingest through SMTP" in line)
    assert re.search(r"\| \d+\.\d\dx \|", ratio)
