"""IMAP with OAuth2 against a real Dovecot whose `oauth2` passdb asks the test's token server
(RFC 7662 introspection) whether each token is active: the poller logs in with tokens it gets
from that server, renews them before they expire while it idles, gets over a token the server
stops accepting, and reports a token endpoint that refuses, once, until it is back."""

from __future__ import annotations

import asyncio
import json
import logging
import pwd
import re
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mailtickets.clock import SystemClock
from mailtickets.config.settings import OAuth2Settings
from mailtickets.ingest.imap import Backoff, ImapPoller
from mailtickets.oauth2 import Retry, TokenSource, mailbox_tokens
from tests.support.cli import mailtickets
from tests.support.clock import FrozenClock
from tests.support.dovecot import (
    Counter,
    Dovecot,
    Records,
    User,
    config_file,
    message,
    running_dovecot,
)
from tests.support.oauth2 import TokenServer, running_token_server
from tests.support.smtp import NOW, Store

FAST = Backoff(
    first=timedelta(milliseconds=50),
    limit=timedelta(milliseconds=200),
    refused=timedelta(milliseconds=50),
)
QUICK_RETRY = Retry(first=timedelta(milliseconds=100), limit=timedelta(milliseconds=400))
CLIENT = "mailtickets-test-client"


@pytest.fixture(scope="module")
def tokens_server() -> Iterator[TokenServer]:
    with running_token_server() as server:
        yield server


@pytest.fixture(scope="module")
def dovecot(tokens_server: TokenServer) -> Iterator[Dovecot]:
    with running_dovecot(oauth2_introspection=tokens_server.introspection_url) as server:
        yield server


@pytest.fixture
def server(tokens_server: TokenServer) -> Iterator[TokenServer]:
    """The module's token server, back to long-lived tokens and no failure after each test."""
    yield tokens_server
    tokens_server.lifetime = 3600.0
    tokens_server.recover()


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Store]:
    store = Store(sqlite_url)
    yield store
    store.engine.dispose()


def refresh_flow(server: TokenServer, user: User, **changes: Any) -> OAuth2Settings:
    values: dict[str, Any] = {
        "flow": "refresh_token",
        "token_url": server.token_url,
        "client_id": CLIENT,
        "client_secret": None,
        "refresh_token": server.grant(CLIENT, user.name),
        "scope": "https://mail.example/imap",
        "mechanism": "xoauth2",
    }
    values.update(changes)
    return OAuth2Settings(**values)


def token_source(oauth2: OAuth2Settings, user: User, storage: Path) -> TokenSource:
    return TokenSource(
        f"IMAP mailbox {user.name}",
        f"imap-{user.name}",
        oauth2,
        storage,
        SystemClock(),
        retry=QUICK_RETRY,
    )


def poller(store: Store, box: Any, tokens: TokenSource, **options: Any) -> ImapPoller:
    options.setdefault("backoff", FAST)
    # The poller's clock stands still; the tokens live on real time, as the server's do.
    return ImapPoller(box, store.sessions, FrozenClock(NOW), tokens=tokens, **options)


@contextmanager
def started(part: ImapPoller) -> Iterator[ImapPoller]:
    asyncio.run(part.start())
    try:
        yield part
    finally:
        asyncio.run(part.stop())


def append(dovecot: Dovecot, user: User, *numbers: int) -> None:
    with dovecot.session(user) as imap:
        for number in numbers:
            imap.append("INBOX", message(number))


def logins(dovecot: Dovecot, user: User, mechanism: str = "XOAUTH2") -> int:
    return dovecot.log.count(f"Login: user=<{user.name}>, method={mechanism},")


def loud(records: Records) -> list[str]:
    return [r.getMessage() for r in records.matching(lambda r: r.levelno >= logging.WARNING)]


@pytest.mark.parametrize(
    ("flow", "mechanism"),
    [
        ("refresh_token", "xoauth2"),
        ("refresh_token", "oauthbearer"),
        ("client_credentials", "xoauth2"),
    ],
)
def test_mail_is_read_with_a_token_dovecot_accepts_and_kept_for_the_next_start(
    dovecot: Dovecot, server: TokenServer, store: Store, tmp_path: Path, flow: str, mechanism: str
) -> None:
    user = dovecot.add_user()
    append(dovecot, user, 1)
    if flow == "client_credentials":
        secret = f"secret-of-{user.name}"
        server.register_client(f"app-{user.name}", secret, user.name)
        oauth2 = refresh_flow(
            server,
            user,
            flow=flow,
            client_id=f"app-{user.name}",
            client_secret=secret,
            refresh_token=None,
            mechanism=mechanism,
        )
    else:
        oauth2 = refresh_flow(server, user, mechanism=mechanism)
    box = dovecot.mailbox(user, password=None, oauth2=oauth2)
    before = server.count(flow)

    assert poller(store, box, token_source(oauth2, user, tmp_path)).poll_once() == 1
    assert server.count(flow) == before + 1
    assert logins(dovecot, user, mechanism.upper()) == 1

    # The cache is private to the service's user and lets a restarted daemon log in at once.
    cache = tmp_path / "oauth2" / f"imap-{user.name}.json"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.parent.stat().st_mode) == 0o700
    append(dovecot, user, 2)
    restarted = token_source(oauth2, user, tmp_path)
    assert poller(store, box, restarted).poll_once() == 1
    assert server.count(flow) == before + 1
    assert restarted.state().origin == "cache"
    assert logins(dovecot, user, mechanism.upper()) == 2


def test_a_token_expiring_while_idling_is_renewed_and_mail_still_arrives(
    dovecot: Dovecot, server: TokenServer, store: Store, tmp_path: Path
) -> None:
    # Tokens of 1.5 s, renewed at 1.2 s: several renewals during one test, each one a new login.
    server.lifetime = 1.5
    user = dovecot.add_user()
    append(dovecot, user, 1)
    oauth2 = refresh_flow(server, user)
    tokens = token_source(oauth2, user, tmp_path)
    arrivals = Counter()
    part = poller(
        store, dovecot.mailbox(user, password=None, oauth2=oauth2), tokens, on_accepted=arrivals
    )
    before = server.count("refresh_token")
    with Records().capturing() as records, started(part):
        assert arrivals.wait_for(1, timeout=30)
        assert server.wait_for("refresh_token", before + 4, timeout=60)
        append(dovecot, user, 2)
        assert arrivals.wait_for(2, timeout=30)
    renewals = server.count("refresh_token") - before
    # Every token served exactly one login (the last may have been got as the poller stopped):
    # no login was refused, none retried in a loop.
    assert renewals - 1 <= logins(dovecot, user) <= renewals
    assert part.state().error is None and part.state().failures == 0
    assert tokens.health().ok and tokens.refresh_failures == 0
    assert loud(records) == []
    assert f"auth failed, 1 attempts in 0 secs): user=<{user.name}>" not in dovecot.log


def test_a_token_the_server_stops_accepting_is_renewed_at_the_next_login(
    dovecot: Dovecot, server: TokenServer, store: Store, tmp_path: Path
) -> None:
    user = dovecot.add_user()
    append(dovecot, user, 1)
    oauth2 = refresh_flow(server, user)
    tokens = token_source(oauth2, user, tmp_path)
    arrivals = Counter()
    part = poller(
        store, dovecot.mailbox(user, password=None, oauth2=oauth2), tokens, on_accepted=arrivals
    )
    before, refused = server.count("refresh_token"), server.inactive
    with Records().capturing() as records, started(part):
        assert arrivals.wait_for(1, timeout=30)
        # Revoked (or expired before its time): the token in hand no longer opens the mailbox.
        server.expire_all()
        dovecot.stop()
        dovecot.start()
        append(dovecot, user, 2)
        assert arrivals.wait_for(2, timeout=30)
    assert server.count("refresh_token") == before + 2
    assert server.inactive == refused + 1
    assert part.state().error is None
    errors = [r for r in records.records if r.levelno >= logging.ERROR]
    assert errors == []


def test_a_refusing_token_endpoint_is_one_error_line_until_it_is_back(
    dovecot: Dovecot, server: TokenServer, store: Store, tmp_path: Path
) -> None:
    server.lifetime = 1.0
    user = dovecot.add_user()
    oauth2 = refresh_flow(server, user)
    tokens = token_source(oauth2, user, tmp_path)
    arrivals = Counter()
    part = poller(
        store, dovecot.mailbox(user, password=None, oauth2=oauth2), tokens, on_accepted=arrivals
    )

    def token_failure(record: logging.LogRecord) -> bool:
        return record.name == "mailtickets.ingest.imap" and "OAuth2 token: " in record.getMessage()

    with Records().capturing() as records, started(part):
        assert server.wait_for("refresh_token", server.count("refresh_token") + 1, timeout=30)
        server.fail(400, "invalid_grant", "Token has been expired or revoked.")
        # Once the token in hand expires, the mailbox cannot be read.
        assert records.wait_for(token_failure, 2, timeout=30)
        expected = (
            f"token request to {server.token_url} failed: HTTP 400: invalid_grant: "
            "Token has been expired or revoked."
        )
        health = tokens.health()
        assert not health.ok and health.detail.startswith(expected)
        assert health.detail.endswith("; no valid token")
        assert not part.health().ok
        assert part.health().detail.startswith(f"OAuth2 token: {expected}")
        assert tokens.refresh_failures >= 2

        server.recover()
        append(dovecot, user, 1)
        assert arrivals.wait_for(1, timeout=30)
    errors = [r.getMessage() for r in records.records if r.levelno >= logging.ERROR]
    assert errors == [f"IMAP mailbox {user.name}: {expected}"]
    assert loud(records) == errors  # the poller adds no warning of its own
    renewed = [r.getMessage() for r in records.records if "renewed after" in r.getMessage()]
    assert len(renewed) == 1 and renewed[0].startswith(f"IMAP mailbox {user.name}: ")
    assert tokens.health().ok and part.state().error is None


def test_the_daemons_token_sources_are_built_from_the_settings(
    dovecot: Dovecot, server: TokenServer, tmp_path: Path
) -> None:
    user = dovecot.add_user()
    box = dovecot.mailbox(user, password=None, oauth2=refresh_flow(server, user))
    tokens = mailbox_tokens(box, tmp_path, SystemClock())
    assert tokens is not None and tokens.name == f"OAuth2 token of IMAP mailbox {user.name}"
    assert tokens.health().detail == "not fetched yet"
    assert mailbox_tokens(dovecot.mailbox(user), tmp_path, SystemClock()) is None


def test_imap_test_shows_the_tokens_state_and_a_refusal_with_what_to_check(
    dovecot: Dovecot, server: TokenServer, tmp_path: Path
) -> None:
    user = dovecot.add_user()
    append(dovecot, user, 1)
    oauth2 = refresh_flow(server, user)
    storage = tmp_path / "var"
    storage.mkdir()
    # The service's own user owns its storage; this command runs as root.
    shutil.chown(storage, "nobody", "nogroup")
    config, env = config_file(
        tmp_path, dovecot.mailbox(user, password=None, oauth2=oauth2), storage=storage
    )

    def imap_test() -> tuple[int, str, str]:
        result = mailtickets("--config", str(config), "imap", "test", cwd=tmp_path, env=env)
        return result.returncode, result.stdout, result.stderr

    code, out, _ = imap_test()
    where = f"{user.name} at 127.0.0.1:{dovecot.port} (no TLS)"
    assert code == 0
    assert re.fullmatch(
        rf"{user.name}: ok, {re.escape(where)}, OAuth2 token new, valid until "
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00: INBOX has 1 unseen of 1\n",
        out,
    ), out
    code, out, _ = imap_test()
    assert code == 0 and ", OAuth2 token cached, valid until " in out
    cache = storage / "oauth2" / f"imap-{user.name}.json"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    nobody = pwd.getpwnam("nobody").pw_uid
    assert cache.stat().st_uid == nobody and cache.parent.stat().st_uid == nobody

    # The daemon got the cached token 50 minutes ago: it is due, the endpoint refuses, and
    # the token in hand still opens the mailbox for 10 minutes.
    server.fail(400, "invalid_grant", "Token has been expired or revoked.")
    cached = json.loads(cache.read_text())
    now = datetime.now(UTC)
    cached["obtained_at"] = (now - timedelta(minutes=50)).isoformat()
    cached["expires_at"] = (now + timedelta(minutes=10)).isoformat()
    cache.write_text(json.dumps(cached))
    code, out, _ = imap_test()
    refusal = (
        f"token request to {server.token_url} failed: HTTP 400: invalid_grant: "
        "Token has been expired or revoked."
    )
    assert code == 1
    assert out.startswith(f"{user.name}: ok, {where}, OAuth2 token cached, valid until ")
    assert out.endswith(
        f": INBOX has 1 unseen of 1; but renewing the token failed: {refusal} (check client_id "
        "and client_secret_env in [imap.oauth2]; a revoked refresh token needs a new consent "
        "(README: OAuth2))\n"
    )

    # A revoked consent, with no token left in the cache.
    shutil.rmtree(storage / "oauth2")
    code, out, err = imap_test()
    assert code == 1
    assert out.splitlines() == [
        f"{user.name}: FAILED at OAuth2 token: token request to {server.token_url} failed: "
        "HTTP 400: invalid_grant: Token has been expired or revoked. (check client_id and "
        "client_secret_env in [imap.oauth2]; a revoked refresh token needs a new consent "
        "(README: OAuth2))"
    ]
    assert err.splitlines()[-1] == "mailtickets: 1 of 1 mailbox(es) cannot be read"
    assert oauth2.refresh_token is not None and oauth2.refresh_token not in out + err
    assert "Traceback" not in err


def test_imap_test_names_a_token_endpoint_that_cannot_be_reached(
    dovecot: Dovecot, tmp_path: Path
) -> None:
    user = dovecot.add_user()
    with running_token_server() as gone:
        oauth2 = refresh_flow(gone, user)
    config, env = config_file(tmp_path, dovecot.mailbox(user, password=None, oauth2=oauth2))
    result = mailtickets("--config", str(config), "imap", "test", cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{user.name}: FAILED at OAuth2 token: token request to {oauth2.token_url} failed: "
        "Connection refused (check token_url in [imap.oauth2] and that the endpoint can be "
        "reached)"
    ]
    assert not (tmp_path / "var").exists()  # a command does not create the daemon's storage
