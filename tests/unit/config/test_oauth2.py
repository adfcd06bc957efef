"""OAuth2 settings of `[[imap]]` and `[outgoing]`: what they read, and each mistake named."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailtickets.config.load import parse_settings
from mailtickets.config.settings import OAuth2Settings, Settings
from mailtickets.errors import ConfigError

HEAD = '[[queue]]\naddress = "support@acme.example"\n'
MAILBOX = """
[[imap]]
name = "sales"
host = "imap.gmail.com"
username = "sales@acme.example"
auth = "oauth2"
"""
GMAIL = """
[imap.oauth2]
token_url = "https://oauth2.googleapis.com/token"
client_id = "client-1"
client_secret_env = "CLIENT_SECRET"
refresh_token_env = "REFRESH_TOKEN"
scope = "https://mail.google.com/"
"""
ENV = {"CLIENT_SECRET": "the-secret", "REFRESH_TOKEN": "the-refresh-token"}


def _load(text: str, env: dict[str, str] = ENV) -> Settings:
    settings, _ = parse_settings(HEAD + text, "site.toml", Path("site.toml"), env)
    return settings


def _problems(text: str, env: dict[str, str] = ENV) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        _load(text, env)
    return list(caught.value.problems)


def test_a_mailbox_with_oauth2_gets_its_secrets_from_the_environment() -> None:
    (box,) = _load(MAILBOX + GMAIL).imap
    assert box.password is None
    assert box.oauth2 == OAuth2Settings(
        flow="refresh_token",
        token_url="https://oauth2.googleapis.com/token",
        client_id="client-1",
        client_secret="the-secret",
        refresh_token="the-refresh-token",
        scope="https://mail.google.com/",
        mechanism="xoauth2",
    )
    # Secrets never show in a repr (a log line, a traceback).
    assert "the-secret" not in repr(box) and "the-refresh-token" not in repr(box)


def test_app_only_access_needs_a_client_secret_and_no_refresh_token() -> None:
    app_only = """
[imap.oauth2]
flow = "client_credentials"
token_url = "https://login.microsoftonline.com/tenant-1/oauth2/v2.0/token"
client_id = "app-1"
refresh_token_env = "REFRESH_TOKEN"
"""
    assert _problems(MAILBOX + app_only) == [
        '[imap.sales.oauth2] client_secret_env: is required by flow = "client_credentials" '
        "(site.toml)",
        '[imap.sales.oauth2] refresh_token_env: is not used by flow = "client_credentials" '
        "(site.toml)",
    ]


def test_every_oauth2_mistake_is_named_with_its_key() -> None:
    broken = """
[imap.oauth2]
token_url = "http://login.example.com/token"
mechanism = "plain"
password_env = "X"
"""
    assert _problems(MAILBOX + 'password_env = "IMAP_PASSWORD"\n' + broken) == [
        '[imap.sales] password_env: is not used with auth = "oauth2" (site.toml)',
        "[imap.sales.oauth2] token_url: must be an https:// URL (http:// only on this host), "
        'got "http://login.example.com/token" (site.toml)',
        "[imap.sales.oauth2] client_id: is required (site.toml)",
        '[imap.sales.oauth2] mechanism: must be one of "xoauth2", "oauthbearer", got "plain" '
        "(site.toml)",
        '[imap.sales.oauth2] refresh_token_env: is required by flow = "refresh_token" (site.toml)',
        "[imap.sales.oauth2] password_env: unknown key (site.toml)",
    ]


def test_an_unset_secret_variable_is_named() -> None:
    assert _problems(MAILBOX + GMAIL, {"CLIENT_SECRET": "s"}) == [
        "[imap.sales.oauth2] refresh_token_env: environment variable REFRESH_TOKEN is not set "
        "(site.toml)"
    ]


def test_an_oauth2_table_without_auth_oauth2_is_a_mistake_not_ignored() -> None:
    password = MAILBOX.replace('auth = "oauth2"', 'password_env = "IMAP_PASSWORD"')
    assert _problems(password + GMAIL, ENV | {"IMAP_PASSWORD": "pw"}) == [
        '[imap.sales] oauth2: is only read with auth = "oauth2" (site.toml)'
    ]


def test_the_old_fixed_token_says_what_replaced_it() -> None:
    old = MAILBOX.replace('auth = "oauth2"', 'oauth2_token_env = "IMAP_TOKEN"')
    problems = _problems(old + 'password_env = "IMAP_PASSWORD"\n', {"IMAP_PASSWORD": "pw"})
    assert problems == [
        "[imap.sales] oauth2_token_env: is no longer read: a fixed token expires within the "
        'hour; set auth = "oauth2" and an oauth2 table naming the token endpoint '
        "(README: OAuth2) (site.toml)"
    ]


def test_the_relay_with_oauth2_needs_a_host_and_the_sending_mailbox() -> None:
    relay = GMAIL.replace("[imap.oauth2]", "[outgoing.oauth2]").replace(
        "https://mail.google.com/", "https://outlook.office.com/SMTP.Send offline_access"
    )
    assert _problems('[outgoing]\nauth = "oauth2"\n' + relay) == [
        '[outgoing] auth: auth = "oauth2" needs a relay: host is not set (site.toml)',
        '[outgoing] username: is required by auth = "oauth2" (site.toml)',
    ]
    settings = _load(
        '[outgoing]\nhost = "smtp.office365.com"\nport = 587\nusername = "help@acme.example"\n'
        'auth = "oauth2"\n' + relay
    )
    assert settings.outgoing.password is None
    assert settings.outgoing.oauth2 is not None
    assert settings.outgoing.oauth2.scope == "https://outlook.office.com/SMTP.Send offline_access"
