"""`mailtickets run` loads the client libraries of the parts its configuration asks for only.

An idle daemon's resident memory is mostly its imports; a site without webhooks, IMAP or
OAuth2 must not carry httpx, imapclient, authlib or requests, nor Alembic (only `db upgrade`
migrates). The real process is run with `python -X importtime`, whose report on stderr names
every module it imported.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.support.cli import SECRET, mailtickets
from tests.support.daemon import READY_LINE, Daemon
from tests.support.relay import free_port

UNUSED = ("httpx", "imapclient", "authlib", "requests", "alembic")

SITE = """
[database]
url = "sqlite:///{directory}/site.db"
[storage]
dir = "{directory}/var"
[tickets]
secret_env = "SITE_SECRET"
[[queue]]
address = "support@acme.example"
[[smtp]]
host = "127.0.0.1"
port = {port}
"""

WEBHOOK = """
[[webhook]]
url = "http://127.0.0.1:{port}/hook"
secret_env = "SITE_SECRET"
"""


def _imported(tmp_path: Path, extra: str) -> set[str]:
    """The top-level packages a daemon on this site imported by the time it was ready."""
    config = tmp_path / "site.toml"
    config.write_text(SITE.format(directory=tmp_path, port=free_port()) + extra)
    env = {"SITE_SECRET": SECRET}
    upgraded = mailtickets("--config", str(config), "db", "upgrade", cwd=tmp_path, env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    command = [sys.executable, "-X", "importtime", "-m", "mailtickets"]
    with Daemon(tmp_path, ("--config", str(config)), env=env, command=command) as daemon:
        daemon.wait_for(READY_LINE)
        assert daemon.stop() == 0, daemon.output
    return {
        line.rpartition("|")[2].strip().partition(".")[0]
        for line in daemon.output.splitlines()
        if line.startswith("import time:")
    }


def test_a_site_without_webhooks_imap_or_oauth2_loads_none_of_their_clients(
    tmp_path: Path,
) -> None:
    imported = _imported(tmp_path, "")
    assert "aiosmtpd" in imported  # the report is read: the SMTP listener's library is there
    assert imported.isdisjoint(UNUSED), sorted(imported & set(UNUSED))


def test_a_site_with_a_webhook_loads_the_http_client(tmp_path: Path) -> None:
    assert "httpx" in _imported(tmp_path, WEBHOOK.format(port=free_port()))
