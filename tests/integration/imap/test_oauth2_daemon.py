"""The real `mailtickets run` on OAuth2 both ways: it reads a Dovecot mailbox whose `oauth2`
passdb checks each token with the test's token server, and sends the acknowledgement through a
relay that takes AUTH XOAUTH2 only, with an app-only token. Tokens live 3 seconds. The token
endpoint then refuses: one error line, /healthz 503 naming the token, the failure metric,
`imap test` showing the refusal; once it is back, everything goes on by itself."""

from __future__ import annotations

import json
import stat
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.cli import mailtickets
from tests.support.daemon import READY_LINE, Daemon
from tests.support.dovecot import Dovecot, running_dovecot
from tests.support.mail import compose
from tests.support.oauth2 import OAuth2Relay, TokenServer, running_token_server
from tests.support.relay import free_port

SENDER = "support@acme.example"


@pytest.fixture(scope="module")
def server() -> Iterator[TokenServer]:
    with running_token_server(lifetime=3.0) as tokens:
        yield tokens


@pytest.fixture(scope="module")
def dovecot(server: TokenServer) -> Iterator[Dovecot]:
    with running_dovecot(oauth2_introspection=server.introspection_url) as imap:
        yield imap


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310  (loopback)
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _until(condition: Callable[[], bool], timeout: float = 30) -> None:
    """Wait for `condition`, looking again every 0.1 s (an event that never fires)."""
    waiter = threading.Event()
    for _ in range(int(timeout * 10)):
        if condition():
            return
        waiter.wait(0.1)
    raise AssertionError("condition not met in time")


def _metrics(http: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(_get(f"http://127.0.0.1:{http}/metrics")[1])
        for sample in family.samples
    }


def test_oauth2_both_ways_survives_expiry_and_an_endpoint_outage(
    dovecot: Dovecot, server: TokenServer, tmp_path: Path
) -> None:
    user = dovecot.add_user()
    server.register_client("helpdesk-app", "app-secret", SENDER)
    env = {
        "IMAP_REFRESH_TOKEN": server.grant("helpdesk-desktop", user.name),
        "RELAY_CLIENT_SECRET": "app-secret",
    }
    relay = OAuth2Relay(server).up()
    http = free_port()
    config = tmp_path / "site.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path}/mt.db"\n[storage]\ndir = "{tmp_path}/var"\n'
        f'[tickets]\nsubject_prefix = "ACME"\n[metrics]\nlisten = "127.0.0.1:{http}"\n'
        f'[[queue]]\naddress = "{SENDER}"\n'
        f'[[imap]]\nname = "support"\nhost = "127.0.0.1"\nport = {dovecot.port}\ntls = "none"\n'
        f'username = "{user.name}"\nauth = "oauth2"\n'
        f'[imap.oauth2]\ntoken_url = "{server.token_url}"\nclient_id = "helpdesk-desktop"\n'
        'refresh_token_env = "IMAP_REFRESH_TOKEN"\nscope = "https://mail.example/imap"\n'
        f'[outgoing]\nhost = "127.0.0.1"\nport = {relay.port}\ntls = "none"\n'
        f'username = "{SENDER}"\nauth = "oauth2"\ntimeout = "5s"\n'
        f'[outgoing.oauth2]\nflow = "client_credentials"\ntoken_url = "{server.token_url}"\n'
        'client_id = "helpdesk-app"\nclient_secret_env = "RELAY_CLIENT_SECRET"\n'
        'scope = "https://mail.example/.default"\n'
    )
    upgraded = mailtickets("--config", str(config), "db", "upgrade", cwd=tmp_path, env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    healthz = f"http://127.0.0.1:{http}/healthz"
    imap_token = "OAuth2 token of IMAP mailbox support"
    try:
        with dovecot.session(user) as imap:
            imap.append("INBOX", compose(subject="Printer on fire"))
        with Daemon(tmp_path, ("--config", str(config)), env) as daemon:
            daemon.wait_for(READY_LINE)
            daemon.wait_for("outbox #1 sent")
            assert relay.handler.logins == [("XOAUTH2", SENDER)]
            status, body = _get(healthz)
            assert status == 200, body
            assert json.loads(body)["parts"][imap_token]["detail"].startswith("valid until ")

            # Several renewals while idling, each followed by a new login.
            renewed = server.count("refresh_token") + 3
            assert server.wait_for("refresh_token", renewed, timeout=60)

            server.fail(400, "invalid_grant", "Token has been expired or revoked.")
            daemon.wait_for("failed: HTTP 400: invalid_grant")
            _until(lambda: _get(healthz)[0] == 503)
            parts = json.loads(_get(healthz)[1])["parts"]
            refusal = (
                f"token request to {server.token_url} failed: HTTP 400: invalid_grant: "
                "Token has been expired or revoked."
            )
            assert parts[imap_token]["ok"] is False
            assert parts[imap_token]["detail"].startswith(refusal)
            failures = _metrics(http)[
                ("mailtickets_oauth2_refresh_failures_total", (("token", "imap-support"),))
            ]
            assert failures >= 1
            shown = mailtickets("--config", str(config), "imap", "test", cwd=tmp_path, env=env)
            assert shown.returncode == 1
            assert refusal in shown.stdout

            server.recover()
            daemon.wait_for("OAuth2 token renewed after")
            _until(lambda: _get(healthz)[0] == 200)
            with dovecot.session(user) as imap:
                imap.append("INBOX", compose(subject="Second printer", sender="bia@example.com"))
            daemon.wait_for("outbox #2 sent")
            assert daemon.stop() == 0, daemon.output
    finally:
        relay.down()

    lines = daemon.output.splitlines()
    # One line for the whole outage, naming the mailbox, the endpoint, the status and error.
    errors = [line for line in lines if " ERROR " in line]
    assert len(errors) == 1, daemon.output
    assert errors[0].endswith(f"ERROR mailtickets.oauth2: IMAP mailbox support: {refusal}")
    assert not [line for line in lines if " WARNING " in line and "OAuth2" in line]
    for secret in (*env.values(), *server.issued()):
        assert secret not in daemon.output
    for cache in ("imap-support.json", "outgoing.json"):
        path = tmp_path / "var" / "oauth2" / cache
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(relay.received) == 2
    assert {to for _, to in relay.handler.logins} == {SENDER} and relay.handler.refused == 0
