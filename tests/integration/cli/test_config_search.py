"""The real command line finds a config on its search path; the tests' helpers give it none."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import mailtickets

SITE = '[[queue]]\naddress = "s@a.example"\n'


def test_a_config_on_the_search_path_is_found(tmp_path: Path) -> None:
    # A stand-in for /etc/mailtickets/config.toml: tests never look at the host's /etc.
    host = tmp_path / "etc" / "mailtickets" / "config.toml"
    host.parent.mkdir(parents=True)
    host.write_text(SITE)
    search = f"{tmp_path / 'mailtickets.toml'}:{host}"
    result = mailtickets("check-config", cwd=tmp_path, env={"MAILTICKETS_CONFIG_PATH": search})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{host}: ok")


def test_the_test_helpers_read_no_config_file_they_were_not_given(tmp_path: Path) -> None:
    # ./mailtickets.toml is first on the default search path; the helpers must empty that path.
    (tmp_path / "mailtickets.toml").write_text(SITE.replace("s@a", "site@a"))
    result = mailtickets("check-config", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("the embedded default: ok")
