"""`[api]` and `[[api.token]]`: each mistake named with its key and file."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailtickets.config.load import parse_settings
from mailtickets.errors import ConfigError
from tests.support.cli import SECRET

SITE = '[[queue]]\naddress = "s@a.example"\n[api]\nlisten = "127.0.0.1:8025"\n'


def _token(name: str, env: str, scope: str | None = None) -> str:
    line = f'scope = "{scope}"\n' if scope else ""
    return f'[[api.token]]\nname = "{name}"\ntoken_env = "{env}"\n{line}'


def _problems(text: str, env: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_settings(text, "site.toml", Path("site.toml"), env)
    return list(caught.value.problems)


def test_tokens_come_from_the_environment_with_their_scope() -> None:
    text = SITE + _token("dashboard", "DASH") + _token("crm", "CRM", "write")
    other = SECRET[::-1]
    settings, _ = parse_settings(
        text, "site.toml", Path("site.toml"), {"DASH": SECRET, "CRM": other}
    )
    assert settings.api.listen == ("127.0.0.1", 8025)
    assert [(t.name, t.scope, t.token) for t in settings.api.tokens] == [
        ("dashboard", "read", SECRET),
        ("crm", "write", other),
    ]
    assert SECRET not in repr(settings.api)


def test_a_missing_variable_is_a_problem_naming_the_key() -> None:
    assert _problems(SITE + _token("dashboard", "DASH"), {}) == [
        "[api.token.dashboard] token_env: environment variable DASH is not set (site.toml)"
    ]


def test_a_short_token_and_an_unknown_scope_are_refused() -> None:
    problems = _problems(SITE + _token("crm", "CRM", "admin"), {"CRM": "short"})
    assert problems == [
        '[api.token.crm] scope: must be one of "read", "write", got "admin" (site.toml)',
        "[api.token.crm] token_env: environment variable CRM is too short (5 characters, "
        "at least 32 are needed) (site.toml)",
    ]


def test_names_and_values_are_each_tokens_own() -> None:
    text = SITE + _token("crm", "A") + _token("crm", "B")
    assert _problems(text, {"A": SECRET, "B": SECRET}) == [
        "[api.token.crm] name: is used by another token (site.toml)",
        "[api] token: two tokens have the same value; give each its own (site.toml)",
    ]


def test_no_api_by_default() -> None:
    settings, _ = parse_settings('[[queue]]\naddress = "s@a.example"\n', "s", None, {})
    assert settings.api.listen is None
    assert settings.api.tokens == ()
