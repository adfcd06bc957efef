"""Database trouble under a running daemon: SQLite locked by another process, a full disk,
PostgreSQL going away. While nothing can be committed SMTP answers 451 (the sending MTA keeps
the message); once the database is back the daemon recovers by itself and loses nothing."""

from __future__ import annotations

import os
import smtplib
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.faults.figures import Figures
from tests.faults.proxy import Proxy
from tests.faults.site import QUEUE, Site, wire
from tests.support.mail import compose
from tests.support.postgres import fresh_database

BIG_BODY = "The log is attached inline.\n" + "x" * 76 + "\n"


def _deliver(port: int, message_id: str, lines: int = 1) -> int:
    """Send one message; the SMTP code DATA was answered with."""
    sender = "carol@customer.example"
    raw = compose(sender=sender, subject=message_id, message_id=message_id, body=BIG_BODY * lines)
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
        client.ehlo()
        client.mail(sender)
        client.rcpt(QUEUE)
        return client.data(wire(raw))[0]


def _outage(
    site: Site, figures: Figures, start: Callable[[], None], end: Callable[[], None], lines: int = 1
) -> None:
    """Deliver before, during and after the trouble; check the answers and the tickets."""
    with site.daemon(log_level="error") as daemon:
        before = _deliver(site.smtp_port, "before@customer.example")
        start()
        during = _deliver(site.smtp_port, "during@customer.example", lines)
        end()
        retried = _deliver(site.smtp_port, "during@customer.example", lines)
        after = _deliver(site.smtp_port, "after@customer.example")
        site.settle(timeout=60)
        assert daemon.stop() == 0, daemon.output
    on_tickets = site.ticket_message_ids()
    site.close()
    expected = ["before@customer.example", "during@customer.example", "after@customer.example"]
    figures.messages, figures.faults = len(expected), 1
    figures.lost = sum(1 for m in expected if on_tickets[m] == 0)
    figures.duplicated = sum(n - 1 for n in on_tickets.values() if n > 1)
    figures.note(f"SMTP answers: before {before}, during {during}, retry {retried}, after {after}")
    figures.survived = f"{len(expected) - figures.lost} of 3 on one ticket each, no restart"
    assert (before, during, retried, after) == (250, 451, 250, 250)
    assert figures.lost == 0 and figures.duplicated == 0


def test_sqlite_locked_by_another_process(tmp_path: Path, figures: Figures) -> None:
    site = Site(tmp_path)
    database = make_url(site.database_url).database
    locker: subprocess.Popen[str] | None = None

    def lock() -> None:
        nonlocal locker
        # Another program holding the write lock for longer than the busy timeout.
        code = (
            "import sqlite3, sys\n"
            f"db = sqlite3.connect({database!r}, isolation_level=None)\n"
            "db.execute('BEGIN EXCLUSIVE')\nprint('locked', flush=True)\nsys.stdin.read()\n"
        )
        locker = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert locker.stdout is not None and locker.stdout.readline() == "locked\n"

    def unlock() -> None:
        assert locker is not None
        locker.communicate("")

    figures.tried = "an sqlite3 process holding BEGIN EXCLUSIVE past the 15 s busy timeout"
    _outage(site, figures, lock, unlock)


def _require_tmpfs(directory: Path) -> None:
    reason = None
    if os.geteuid() != 0:
        reason = "a size-limited tmpfs needs root to mount"
    else:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(directory)],
            capture_output=True,
            text=True,
            check=False,
        )
        if mounted.returncode != 0:
            reason = f"cannot mount a tmpfs: {mounted.stderr.strip()}"
    if reason and os.environ.get("CI") == "true":
        pytest.fail(reason + " (CI=true: the disk-full test must run)")
    if reason:
        pytest.skip(reason)


@contextmanager
def small_disk(directory: Path) -> Iterator[Path]:
    """A 32 MiB file system at `directory`, unmounted afterwards."""
    directory.mkdir()
    _require_tmpfs(directory)
    try:
        yield directory
    finally:
        subprocess.run(["umount", "--lazy", str(directory)], check=True)


def _fill(directory: Path) -> Path:
    filler = directory / "filler"
    with suppress(OSError), filler.open("wb") as out:
        while True:
            out.write(b"\0" * 65536)
            out.flush()
    return filler


def test_disk_full(tmp_path: Path, figures: Figures) -> None:
    with small_disk(tmp_path / "disk") as disk:
        site = Site(tmp_path / "site", database_url=f"sqlite:///{disk}/mt.db")
        filler: list[Path] = []
        figures.tried = "the database on a 32 MiB tmpfs filled up, 1 MiB messages, then freed"
        _outage(
            site,
            figures,
            lambda: filler.append(_fill(disk)),
            lambda: filler[0].unlink(),
            lines=13_000,
        )


@pytest.mark.postgres
def test_postgresql_away_mid_run(tmp_path: Path, figures: Figures) -> None:
    with fresh_database() as url:
        parsed = make_url(url)
        proxy = Proxy((parsed.host or "127.0.0.1", parsed.port or 5432)).restore()
        through_proxy = parsed.set(host="127.0.0.1", port=proxy.port)
        site = Site(tmp_path, database_url=through_proxy.render_as_string(hide_password=False))
        figures.tried = "PostgreSQL cut off mid-run (every connection dropped, new ones refused)"
        try:
            _outage(site, figures, proxy.cut, proxy.restore)
        finally:
            proxy.cut()
