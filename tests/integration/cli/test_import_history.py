"""`mailtickets import` of a mailbox archive through the real command line: it mails nobody
(not at import, not later from the daemon), keeps each message's date, opens tickets with no
SLA clock, opts into mail with --notify, reports progress, and resumes after an interruption
with every message taken in exactly once."""

from __future__ import annotations

import json
import mailbox
import os
import selectors
import signal
import smtplib
import subprocess
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from mailtickets.db.models import InboundMessage, Message
from tests.support.cli import COMMAND, environment, mailtickets
from tests.support.daemon import READY_LINE, Daemon
from tests.support.mail import compose
from tests.support.relay import Relay, free_port

CUSTOMERS = 40
THREADS = 2  # per customer
#: Each thread: the customer asks, an agent answers (from the old system), the customer
#: thanks; each message refers to the ones before it.
MESSAGES = 3
FIRST = datetime(2023, 3, 1, 9, 0, tzinfo=UTC)


def _thread_start(customer: int, thread: int) -> datetime:
    return FIRST + timedelta(days=customer * THREADS + thread)


def _archive(path: Path) -> list[str]:
    """An mbox of CUSTOMERS * THREADS * MESSAGES messages in date order; their Message-IDs."""
    messages: list[tuple[datetime, str, bytes]] = []
    for customer in range(CUSTOMERS):
        address = f"Customer {customer} <c{customer}@example.com>"
        for thread in range(THREADS):
            ids: list[str] = []
            for number in range(MESSAGES):
                message_id = f"c{customer}.t{thread}.m{number}@archive.example"
                when = _thread_start(customer, thread) + timedelta(hours=number)
                from_agent = number == 1
                raw = compose(
                    sender="Alice <alice@acme.example>" if from_agent else address,
                    to=f"c{customer}@example.com" if from_agent else "support@acme.example",
                    subject=("Re: " if number else "") + f"Order {customer}-{thread}",
                    body=f"message {number} of thread {thread} of customer {customer}\n",
                    message_id=message_id,
                    in_reply_to=ids[-1] if ids else None,
                    references=ids or None,
                    date=when,
                )
                messages.append((when, message_id, raw))
                ids.append(message_id)
    box = mailbox.mbox(path)
    for _when, _id, raw in sorted(messages):
        box.add(raw)
    box.close()
    return [message_id for _when, message_id, _raw in sorted(messages)]


def _site(tmp_path: Path, relay: Relay | None = None) -> tuple[Path, int]:
    """A site whose queue has an SLA and asks for ratings, with a listener and a relay."""
    port = free_port()
    outgoing = (
        f'[outgoing]\nhost = "127.0.0.1"\nport = {relay.port}\ntls = "none"\n'
        'retry_delay = "1s"\ntimeout = "5s"\n'
        if relay
        else ""
    )
    config = tmp_path / "site.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path}/mt.db"\n[storage]\ndir = "{tmp_path}/var"\n'
        '[tickets]\nsubject_prefix = "ACME"\n'
        '[scheduler]\nsweep_interval = "1s"\nauto_close_after = "1d"\n'
        '[[queue]]\naddress = "support@acme.example"\nsla = "std"\ncsat = true\n'
        '[[sla]]\nname = "std"\nfirst_response = "1h"\nresolution = "2d"\n'
        '[[agent]]\naddress = "alice@acme.example"\nname = "Alice"\n'
        f'[[smtp]]\nhost = "127.0.0.1"\nport = {port}\n' + outgoing
    )
    assert _run(tmp_path, "db", "upgrade").returncode == 0
    return config, port


def _run(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return mailtickets(
        "--config", str(site / "site.toml"), "--log-level", "warning", *args, cwd=site
    )


def _json(site: Path, *args: str) -> object:
    result = _run(site, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _stored_message_ids(site: Path) -> list[str]:
    engine = create_engine(f"sqlite:///{site / 'mt.db'}")
    with engine.connect() as connection:
        found = list(connection.scalars(select(Message.message_id).order_by(Message.id)))
    engine.dispose()
    return found


def _until(condition: Callable[[], bool], timeout: float = 60) -> None:
    waiter = threading.Event()
    for _ in range(int(timeout * 10)):
        if condition():
            return
        waiter.wait(0.1)
    raise AssertionError("condition not met in time")


@pytest.fixture
def relay() -> Relay:
    return Relay()


def test_an_archive_is_imported_as_history_and_nobody_is_ever_mailed(
    tmp_path: Path, relay: Relay
) -> None:
    config, port = _site(tmp_path, relay)
    message_ids = _archive(tmp_path / "archive.mbox")
    imported = _run(tmp_path, "import", str(tmp_path / "archive.mbox"))
    assert imported.returncode == 0, imported.stderr
    tickets = CUSTOMERS * THREADS
    total = tickets * MESSAGES
    # Alice's answers in the archive went to the customer with the queue's mailbox holding a
    # copy: they are her answers, not the customer's follow-ups.
    assert imported.stdout.strip() == (
        f"{total} messages: {tickets} new tickets, {total - 2 * tickets} follow-ups, "
        f"{tickets} agent replies"
    )
    outbox = _json(tmp_path, "status")["outbox"]  # type: ignore[index]
    assert outbox == dict.fromkeys(["pending", "sent", "failed", "withheld", "discarded"], 0)

    listed = _json(tmp_path, "tickets", "list")
    assert isinstance(listed, list) and len(listed) == tickets
    for ticket in listed:
        customer, thread = (int(n) for n in ticket["subject"].split()[-1].split("-"))
        start = _thread_start(customer, thread)
        assert datetime.fromisoformat(ticket["created_at"]) == start
        assert datetime.fromisoformat(ticket["updated_at"]) == start + timedelta(hours=2)
        assert ticket["messages"] == MESSAGES
        assert ticket["status"] == "open"
    shown = _json(tmp_path, "sla", "show", str(listed[0]["id"]))
    assert shown == {
        "ticket": listed[0]["id"],
        "policy": None,
        "state": "not tracked",
        "clocks": [],
    }
    assert sorted(_stored_message_ids(tmp_path)) == sorted(message_ids)
    assert _json(tmp_path, "tickets", "list", "--breached") == []

    # The daemon sweeps SLAs and closes tickets every second: nothing about the archive goes
    # out. One live message shows that mail does, and what.
    relay.up()
    with Daemon(tmp_path, ("--config", str(config))) as daemon:
        try:
            daemon.wait_for(READY_LINE)
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                client.sendmail(
                    "live@example.com",
                    ["support@acme.example"],
                    compose(sender="live@example.com", subject="Live one"),
                )
            _until(lambda: len(relay.received) >= 2)
            daemon.wait_for("outbox #2 sent")
            assert daemon.stop() == 0, daemon.output
        finally:
            relay.down()
    assert sorted(r for mail in relay.received for r in mail.recipients) == [
        "alice@acme.example",
        "live@example.com",
    ]
    assert all("Live one" in mail.message["Subject"] for mail in relay.received)


def test_with_notify_the_archive_is_acknowledged_as_new_mail(tmp_path: Path) -> None:
    _site(tmp_path)
    box = mailbox.mbox(tmp_path / "new.mbox")
    for customer in range(5):
        box.add(compose(sender=f"n{customer}@example.com", subject=f"New {customer}"))
    box.close()
    imported = _run(tmp_path, "import", "--notify", str(tmp_path / "new.mbox"))
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == "5 messages: 5 new tickets"
    pending = _json(tmp_path, "outbox", "list")
    assert isinstance(pending, list)
    acknowledgements = [row for row in pending if row["template"] == "customer/acknowledgement"]
    assert sorted(r for row in acknowledgements for r in row["recipients"]) == [
        f"n{customer}@example.com" for customer in range(5)
    ]
    assert {row["template"] for row in pending} == {
        "customer/acknowledgement",
        "agent/new_ticket",
    }
    (ticket, *_) = _json(tmp_path, "tickets", "list")  # type: ignore[misc]
    assert _json(tmp_path, "sla", "show", str(ticket["id"]))["state"] == "running"  # type: ignore[index]


def test_an_interrupted_import_goes_on_where_it_stopped(tmp_path: Path) -> None:
    _site(tmp_path)
    message_ids = _archive(tmp_path / "archive.mbox")
    total = len(message_ids)
    args = ["--config", str(tmp_path / "site.toml"), "--log-level", "warning", "import"]
    process = subprocess.Popen(
        [*COMMAND, *args, "--progress-every", "20", str(tmp_path / "archive.mbox")],
        cwd=tmp_path,
        env=environment({}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        progress = _progress_lines(process, 3)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert progress[0].startswith("imported 20 messages: ")
    assert process.returncode == 128 + signal.SIGINT, err
    done = int(out.decode().split()[0])
    assert 60 <= done < total, out
    assert (
        err.decode()
        .strip()
        .endswith(
            f"mailtickets: interrupted by SIGINT after {done} messages; "
            "run the same command again to go on"
        )
    )
    assert "Traceback" not in err.decode()

    again = _run(tmp_path, "import", str(tmp_path / "archive.mbox"))
    assert again.returncode == 0, again.stderr
    counts = _counts(again.stdout)
    assert counts.pop("already there") == done
    assert sum(counts.values()) == total - done, again.stdout
    # Every message once, on one ticket per thread.
    assert sorted(_stored_message_ids(tmp_path)) == sorted(message_ids)
    listed = _json(tmp_path, "tickets", "list")
    assert isinstance(listed, list)
    assert len(listed) == CUSTOMERS * THREADS
    assert {t["messages"] for t in listed} == {MESSAGES}
    engine = create_engine(f"sqlite:///{tmp_path / 'mt.db'}")
    with engine.connect() as connection:
        rows = connection.scalar(select(func.count(InboundMessage.id)))
    engine.dispose()
    assert rows == total


def _progress_lines(process: subprocess.Popen[bytes], count: int) -> list[str]:
    """Read the import's stderr until `count` progress lines have come."""
    assert process.stderr is not None
    seen = ""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stderr, selectors.EVENT_READ)
        while seen.count("imported ") < count:
            if not selector.select(120) or process.poll() is not None:
                raise AssertionError(f"no progress; the import said:\n{seen}")
            seen += os.read(process.stderr.fileno(), 65536).decode()
    return [line for line in seen.splitlines() if line.startswith("imported ")]


def _counts(summary: str) -> dict[str, int]:
    """The counts of a summary line by label ("240 messages: 80 new tickets, …")."""
    _total, _, parts = summary.strip().partition(": ")
    return {label: int(n) for n, _, label in (part.partition(" ") for part in parts.split(", "))}


def test_an_archive_date_is_kept_only_when_it_can_be_true(tmp_path: Path) -> None:
    _site(tmp_path)
    future = datetime.now(UTC) + timedelta(days=400)
    for name, when in (("epoch", datetime(1970, 1, 1, tzinfo=UTC)), ("future", future)):
        raw = compose(sender=f"{name}@example.com", subject=name, date=when)
        (tmp_path / f"{name}.eml").write_bytes(raw)
    (tmp_path / "undated.eml").write_bytes(
        compose(sender="undated@example.com", subject="undated", date=None)
    )
    before = datetime.now(UTC)
    result = _run(
        tmp_path, "import", *(str(tmp_path / f"{n}.eml") for n in ("epoch", "future", "undated"))
    )
    assert result.returncode == 0, result.stderr
    listed = _json(tmp_path, "tickets", "list")
    assert isinstance(listed, list) and len(listed) == 3
    for ticket in listed:
        created = datetime.fromisoformat(ticket["created_at"])
        assert before <= created <= datetime.now(UTC), ticket
