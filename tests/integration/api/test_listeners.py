"""`[metrics] listen` and `[api] listen` on two addresses: two servers, each serving what its
key promises; the API's address also answers /healthz and /metrics."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import requests

from tests.support.cli import SECRET, mailtickets
from tests.support.daemon import READY_LINE, Daemon
from tests.support.relay import free_port

pytestmark = pytest.mark.slow


def test_metrics_and_api_on_their_own_addresses(tmp_path: Path) -> None:
    metrics, api = free_port(), free_port()
    config = tmp_path / "site.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path}/mt.db"\n[storage]\ndir = "{tmp_path}/var"\n'
        '[[queue]]\naddress = "support@acme.example"\n'
        f'[metrics]\nlisten = "127.0.0.1:{metrics}"\n[api]\nlisten = "127.0.0.1:{api}"\n'
        '[[api.token]]\nname = "dashboard"\ntoken_env = "API_READ"\n'
    )
    env = {"API_READ": SECRET, "MAILTICKETS_SECRET": SECRET}
    upgraded = mailtickets("--config", str(config), "db", "upgrade", cwd=tmp_path, env=env)
    assert upgraded.returncode == 0
    with Daemon(tmp_path, ("--config", str(config)), env) as daemon:
        daemon.wait_for(READY_LINE)
        assert f"HTTP API on http://127.0.0.1:{api}/api/v1/" in daemon.output
        auth = {"Authorization": f"Bearer {SECRET}"}
        for port in (metrics, api):
            health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
            assert health.status_code == 200
            assert health.json()["status"] == "ok"
            assert (
                "mailtickets_outbox_messages"
                in requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
            )
        listed = requests.get(f"http://127.0.0.1:{api}/api/v1/tickets", headers=auth, timeout=10)
        assert listed.json() == {"tickets": [], "next_cursor": None}
        elsewhere = requests.get(
            f"http://127.0.0.1:{metrics}/api/v1/tickets", headers=auth, timeout=10
        )
        assert elsewhere.status_code == 404
        assert daemon.stop() == 0


def test_an_address_in_use_stops_the_daemon_naming_it(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        config = tmp_path / "site.toml"
        config.write_text(
            f'[database]\nurl = "sqlite:///{tmp_path}/mt.db"\n[storage]\ndir = "{tmp_path}/var"\n'
            '[[queue]]\naddress = "support@acme.example"\n'
            f'[api]\nlisten = "127.0.0.1:{port}"\n'
        )
        env = {"MAILTICKETS_SECRET": SECRET}
        upgraded = mailtickets("--config", str(config), "db", "upgrade", cwd=tmp_path, env=env)
        assert upgraded.returncode == 0
        ran = mailtickets("--config", str(config), "run", cwd=tmp_path, env=env)
    assert ran.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in ran.stderr
