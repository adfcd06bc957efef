"""Where the config file is looked for: a parameter, which the CLI fills and tests empty."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from mailtickets.cli import main
from mailtickets.config import find_config, load_settings, search_path_from
from mailtickets.config.load import DEFAULT_SEARCH_PATH

SITE = '[tickets]\nsubject_prefix = "SITE"\n[[queue]]\naddress = "s@a.example"\n'


def test_the_search_path_comes_from_the_environment_else_the_default() -> None:
    assert search_path_from({}) == (Path("mailtickets.toml"), Path("/etc/mailtickets/config.toml"))
    assert search_path_from({"MAILTICKETS_CONFIG_PATH": "a.toml:/b/c.toml"}) == (
        Path("a.toml"),
        Path("/b/c.toml"),
    )
    assert search_path_from({"MAILTICKETS_CONFIG_PATH": ""}) == ()


def test_the_first_existing_file_of_the_search_path_is_read(tmp_path: Path) -> None:
    found = tmp_path / "etc" / "config.toml"
    found.parent.mkdir()
    found.write_text(SITE)
    path = (tmp_path / "missing.toml", found, tmp_path / "later.toml")
    assert find_config(None, {}, path) == found
    # The variable and an explicit file still come first.
    assert find_config(None, {"MAILTICKETS_CONFIG": "env.toml"}, path) == Path("env.toml")
    assert find_config(Path("given.toml"), {}, path) == Path("given.toml")


def test_load_settings_searches_only_when_told_where(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("mailtickets.toml").write_text(SITE)
    assert load_settings(environ={}).source is None
    # ./mailtickets.toml comes first on the default path: the host's /etc is never reached.
    found = load_settings(environ={}, search_path=DEFAULT_SEARCH_PATH)
    assert (found.source, found.tickets.subject_prefix) == (Path("mailtickets.toml"), "SITE")


def test_the_cli_searches_its_path_and_the_tests_setup_empties_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("mailtickets.toml").write_text(SITE)
    host = tmp_path / "etc" / "mailtickets" / "config.toml"
    host.parent.mkdir(parents=True)
    host.write_text(SITE)
    runner = CliRunner()

    def source(env: dict[str, str | None]) -> str:
        result = runner.invoke(main, ["check-config"], env=env)
        assert result.exit_code == 0, result.output
        return result.output.split(": ok", 1)[0]

    # Under the tests' own setup (tests/conftest.py) neither file is read.
    assert source({}) == "the embedded default"
    assert source({"MAILTICKETS_CONFIG_PATH": f"{tmp_path / 'none.toml'}:{host}"}) == str(host)
    # Unset, the CLI falls back to the real default path, whose first file is ./mailtickets.toml.
    assert source({"MAILTICKETS_CONFIG_PATH": None}) == "mailtickets.toml"
