"""SMTP AUTH XOAUTH2 and OAUTHBEARER to a real relay (aiosmtpd) that takes a token only if the
test's token server issued it for the sending mailbox and it is still active. The transport's
token source runs on a frozen clock: renewal at 80% of the lifetime is a clock move, not a
wait."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from mailtickets.config.load import parse_settings
from mailtickets.config.settings import OutgoingSettings
from mailtickets.errors import TemporaryFailure
from mailtickets.oauth2 import TokenSource, relay_tokens
from mailtickets.outbound.transport import SmtpTransport, transport_for
from tests.support.clock import FrozenClock
from tests.support.dovecot import Records
from tests.support.mail import compose
from tests.support.oauth2 import OAuth2Relay, TokenServer, running_token_server

SENDER = "help@acme.example"


@pytest.fixture(scope="module")
def server() -> Iterator[TokenServer]:
    with running_token_server() as tokens:
        yield tokens


@pytest.fixture
def relay(server: TokenServer) -> Iterator[OAuth2Relay]:
    relay = OAuth2Relay(server).up()
    yield relay
    relay.down()
    server.recover()


def outgoing(
    relay: OAuth2Relay, server: TokenServer, flow: str, mechanism: str
) -> OutgoingSettings:
    if flow == "client_credentials":
        server.register_client("app", "app-secret", SENDER)
        grant = 'client_id = "app"\nclient_secret_env = "SECRET"\n'
    else:
        grant = 'client_id = "desktop"\nrefresh_token_env = "REFRESH"\n'
    text = (
        '[[queue]]\naddress = "support@acme.example"\n'
        f'[outgoing]\nhost = "127.0.0.1"\nport = {relay.port}\ntls = "none"\n'
        f'username = "{SENDER}"\nauth = "oauth2"\ntimeout = "5s"\n'
        f'[outgoing.oauth2]\nflow = "{flow}"\ntoken_url = "{server.token_url}"\n'
        f'mechanism = "{mechanism}"\nscope = "https://mail.example/smtp"\n' + grant
    )
    env = {"SECRET": "app-secret", "REFRESH": server.grant("desktop", SENDER)}
    settings, _ = parse_settings(text, "site.toml", None, env)
    return settings.outgoing


def sender(
    settings: OutgoingSettings, tmp_path: Path, clock: FrozenClock
) -> tuple[SmtpTransport, TokenSource]:
    tokens = relay_tokens(settings, tmp_path, clock)
    assert tokens is not None
    transport = transport_for(settings, tokens)
    assert isinstance(transport, SmtpTransport)
    return transport, tokens


def send(transport: SmtpTransport, number: int) -> tuple[str, ...]:
    raw = compose(sender=SENDER, to=f"c{number}@example.com", subject=f"Reply {number}")
    delivery = transport.send(raw, SENDER, [f"c{number}@example.com"])
    transport.close()  # the next message opens a new connection, hence a new AUTH
    return delivery.accepted


@pytest.mark.parametrize(
    ("flow", "mechanism"),
    [
        ("refresh_token", "xoauth2"),
        ("refresh_token", "oauthbearer"),
        ("client_credentials", "xoauth2"),
    ],
)
def test_the_relay_takes_mail_after_auth_with_the_token(
    relay: OAuth2Relay, server: TokenServer, tmp_path: Path, flow: str, mechanism: str
) -> None:
    transport, _ = sender(outgoing(relay, server, flow, mechanism), tmp_path, FrozenClock())
    before = server.count(flow)
    assert send(transport, 1) == ("c1@example.com",)
    assert send(transport, 2) == ("c2@example.com",)
    assert relay.handler.logins == [(mechanism.upper(), SENDER)] * 2
    assert server.count(flow) == before + 1  # one token serves both connections
    assert [r.recipients for r in relay.received] == [["c1@example.com"], ["c2@example.com"]]


def test_the_token_is_renewed_at_80_percent_of_its_lifetime(
    relay: OAuth2Relay, server: TokenServer, tmp_path: Path
) -> None:
    clock = FrozenClock()
    transport, tokens = sender(outgoing(relay, server, "refresh_token", "xoauth2"), tmp_path, clock)
    before = server.count("refresh_token")
    send(transport, 1)
    first = tokens.current()
    clock.advance(timedelta(minutes=47))  # the server's tokens live an hour
    send(transport, 2)
    assert server.count("refresh_token") == before + 1
    clock.advance(timedelta(minutes=2))
    send(transport, 3)
    assert server.count("refresh_token") == before + 2
    assert tokens.current() is not first
    assert len(relay.received) == 3 and relay.handler.refused == 0


def test_a_token_the_relay_refuses_is_renewed_once_and_the_mail_goes(
    relay: OAuth2Relay, server: TokenServer, tmp_path: Path
) -> None:
    transport, _ = sender(
        outgoing(relay, server, "refresh_token", "xoauth2"), tmp_path, FrozenClock()
    )
    send(transport, 1)
    before = server.count("refresh_token")
    server.expire_all()  # revoked, or expired earlier than it said
    assert send(transport, 2) == ("c2@example.com",)
    assert relay.handler.refused == 1
    assert server.count("refresh_token") == before + 1


def test_no_token_is_a_temporary_failure_naming_relay_and_endpoint_until_it_is_back(
    relay: OAuth2Relay, server: TokenServer, tmp_path: Path
) -> None:
    clock = FrozenClock()
    settings = outgoing(relay, server, "client_credentials", "xoauth2")
    transport, tokens = sender(settings, tmp_path, clock)
    server.fail(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
    with Records().capturing() as records:
        for number in (1, 2, 3):
            with pytest.raises(TemporaryFailure) as raised:
                send(transport, number)
        clock.advance(timedelta(seconds=3))  # past the pause after the first failure
        with pytest.raises(TemporaryFailure):
            send(transport, 4)
        refusal = (
            f"token request to {server.token_url} failed: HTTP 401: invalid_client: "
            "AADSTS7000215: Invalid client secret provided."
        )
        assert str(raised.value) == f"relay 127.0.0.1:{relay.port}: OAuth2 token: {refusal}"
        # The endpoint was asked twice, not at every message: once, then after the pause.
        assert tokens.refresh_failures == 2
        assert not tokens.health().ok
        assert tokens.health().detail == f"{refusal} (2 failed attempt(s)); no valid token"
        assert relay.received == []

        server.recover()
        clock.advance(timedelta(seconds=5))
        assert send(transport, 5) == ("c5@example.com",)
    errors = [r.getMessage() for r in records.records if r.levelno >= logging.ERROR]
    assert errors == [f"outgoing relay 127.0.0.1:{relay.port}: {refusal}"]
    assert tokens.health().ok
