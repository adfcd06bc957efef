"""Fixtures that give real things: database files and servers, processes, a frozen clock."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

from tests.support.cli import ISOLATED
from tests.support.helpdesk import Helpdesk, make_helpdesk
from tests.support.postgres import fresh_database

# Hypothesis on a developer's machine: what it finds is kept and tried first on every later
# run, wherever pytest is started from (the repository's .hypothesis/, git-ignored: the store
# is opaque, tied to hypothesis' version and rewritten by each run). CI starts from a fresh
# clone, where nothing would be kept: there every run tries the same examples, derived from
# the tests' source, so a failure is the same failure on a rerun, and `CI=true pytest ...` or
# the blob it prints reproduces it anywhere. A failure worth keeping becomes an @example(...)
# in the test, where it is reviewed and runs everywhere, CI included.
settings.register_profile(
    "dev",
    database=DirectoryBasedExampleDatabase(Path(__file__).parents[1] / ".hypothesis" / "examples"),
)
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    # A shared CI machine is slow at times: that is no failure of the code under test.
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")


@pytest.fixture(autouse=True)
def _no_config_file_but_the_tests_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process code (CliRunner, `load_settings()`) reads no config file a test did not name."""
    monkeypatch.delenv("MAILTICKETS_CONFIG", raising=False)
    for name, value in ISOLATED.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'mailtickets.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with fresh_database() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test using this runs once on a SQLite file and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'mailtickets.db'}"
        return
    with fresh_database() as url:
        yield url


@pytest.fixture
def helpdesk(tmp_path: Path) -> Iterator[Helpdesk]:
    desk = make_helpdesk(f"sqlite:///{tmp_path / 'mailtickets.db'}", tmp_path)
    yield desk
    desk.app.engine.dispose()


@pytest.fixture
def any_helpdesk(database_url: str, tmp_path: Path) -> Iterator[Helpdesk]:
    """A helpdesk on SQLite and, in a second run, on PostgreSQL."""
    desk = make_helpdesk(database_url, tmp_path)
    yield desk
    desk.app.engine.dispose()
