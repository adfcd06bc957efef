"""Duties with one doer: advisory locks on the real PostgreSQL, one instance per SQLite file."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from mailtickets.db.ownership import (
    SCHEDULER,
    AdvisoryLocks,
    duties_for,
    imap_folder,
    owners,
    single_instance,
)
from mailtickets.errors import DatabaseError
from tests.support.cli import mailtickets
from tests.support.daemon import READY_LINE, Daemon
from tests.support.relay import free_port


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    engine = create_engine(postgres_url)
    yield engine
    engine.dispose()


def test_one_instance_owns_a_duty_until_it_lets_go(engine: Engine) -> None:
    first, second = AdvisoryLocks(engine, "first"), AdvisoryLocks(engine, "second")
    try:
        assert first.claim(SCHEDULER)
        assert not second.claim(SCHEDULER)
        assert first.claim(SCHEDULER), "asking again keeps the duty"
        assert second.claim(imap_folder("support", "INBOX")), "other duties are free"
        with engine.connect() as connection:
            assert owners(connection, [SCHEDULER, imap_folder("support", "INBOX")]) == {
                SCHEDULER: "first",
                imap_folder("support", "INBOX"): "second",
            }
        first.close()
        assert second.claim(SCHEDULER)
        assert not first.claim(SCHEDULER)
    finally:
        first.close()
        second.close()


def test_a_dead_owners_duties_are_taken_over_and_it_knows_it_lost_them(engine: Engine) -> None:
    """The server ends the owner's session (as when its host dies or is cut off)."""
    owner, standby = AdvisoryLocks(engine, "owner"), AdvisoryLocks(engine, "standby")
    try:
        assert owner.claim(SCHEDULER)
        with engine.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = 'owner'"
                )
            )
            connection.commit()
        # The backend ends a moment after it is told to: keep asking, as instances do.
        assert _within(30.0, lambda: standby.claim(SCHEDULER))
        assert not owner.claim(SCHEDULER), "the old owner must notice the lost session"
        standby.close()
        assert owner.claim(SCHEDULER), "and may own it again later"
    finally:
        owner.close()
        standby.close()


def _within(seconds: float, test: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + seconds
    while not test():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_sqlite_instance_owns_every_duty(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'mt.db'}")
    assert duties_for(engine).claim(SCHEDULER)
    engine.dispose()


def test_a_second_instance_on_one_sqlite_file_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mt.db'}"
    with single_instance(url), pytest.raises(DatabaseError) as refused, single_instance(url):
        pass
    assert "another mailtickets instance" in str(refused.value)
    assert "run several on PostgreSQL" in str(refused.value)
    with single_instance(url):
        pass  # free again once the first let go


def test_mailtickets_run_refuses_a_second_daemon_on_the_same_sqlite_file(
    tmp_path: Path,
) -> None:
    config = tmp_path / "site.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path}/mt.db"\n[storage]\ndir = "{tmp_path}/var"\n'
        '[[queue]]\naddress = "support@acme.example"\n'
        f'[[smtp]]\nhost = "127.0.0.1"\nport = {free_port()}\n'
    )
    assert mailtickets("--config", str(config), "db", "upgrade", cwd=tmp_path).returncode == 0
    with Daemon(tmp_path, ("--config", str(config))) as daemon:
        daemon.wait_for(READY_LINE)
        second = mailtickets("--config", str(config), "run", cwd=tmp_path, timeout=30)
        assert daemon.process.poll() is None, "the first daemon keeps running"
        assert daemon.stop() == 0, daemon.output
    assert second.returncode == 1
    (line,) = second.stderr.strip().splitlines()
    assert line.startswith("mailtickets: another mailtickets instance (pid ")
    assert f"is running on {tmp_path}/mt.db" in line
