"""The defaults config.example.toml states are the code's, and it states every one.

A default is stated by a `# key = value` line (see the example's header). Each is checked by
loading a minimal config with and without that line: the settings must not change. And the
keys with such a line must be exactly those the loader falls back to a value for. The
defaults some fields have in `config/settings.py` must agree with the loader's too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import MISSING, fields, is_dataclass
from pathlib import Path

import pytest

from mailtickets.config import settings as settings_module
from mailtickets.config.load import parse_settings
from mailtickets.config.settings import Settings
from tests.support.cli import SECRET
from tests.unit.config.example import EXAMPLE, documented_defaults

# One of each table, with only what it requires, so that every key is asked for.
MINIMAL = """\
[[queue]]
address = "support@example.com"
[[smtp]]
[[imap]]
name = "mailbox"
host = "imap.example.com"
username = "support"
password_env = "IMAP_PASSWORD"
[[imap]]
name = "tokens"
host = "imap.example.com"
username = "support"
auth = "oauth2"
[imap.oauth2]
token_url = "https://login.example.com/token"
client_id = "client"
refresh_token_env = "REFRESH_TOKEN"
[[agent]]
address = "agent@example.com"
name = "Agent"
[[sla]]
name = "standard"
[[calendar]]
name = "office"
timezone = "UTC"
hours = { "mon-fri" = "09:00-17:00" }
[[rota]]
name = "nights"
calendar = "office"
[[rota.shift]]
agent = "agent@example.com"
starts = "2026-12-24 18:00"
ends = "2026-12-27 09:00"
[[rule]]
name = "urgent"
[rule.match]
subject = "urgent"
[rule.set]
priority = "high"
[[webhook]]
url = "https://hooks.example/helpdesk"
secret_env = "WEBHOOK_SECRET"
[[api.token]]
name = "dashboard"
token_env = "API_TOKEN"
"""
ENV = {
    "IMAP_PASSWORD": "password",
    "MAILTICKETS_SECRET": SECRET,
    "REFRESH_TOKEN": "token",
    "WEBHOOK_SECRET": SECRET,
    "API_TOKEN": SECRET,
}
DOCUMENTED = documented_defaults(EXAMPLE.read_text())


def _load(text: str) -> tuple[Settings, dict[str, object]]:
    settings, asked = parse_settings(text, "minimal.toml", Path("minimal.toml"), ENV)
    return settings, dict(asked)


def _written(path: str, line: str) -> str:
    """MINIMAL with `line` in the table that `path` belongs to."""
    section = path.rpartition(".")[0]
    lines = MINIMAL.splitlines()
    for number, text in enumerate(lines):
        if text in (f"[{section}]", f"[[{section}]]"):
            lines.insert(number + 1, line)
            return "\n".join(lines) + "\n"
    return f"{MINIMAL}[{section}]\n{line}\n"


def test_the_example_states_a_default_for_exactly_the_keys_that_have_one() -> None:
    _, asked = _load(MINIMAL)
    assert set(DOCUMENTED) == {path for path, default in asked.items() if default is not None}


@pytest.mark.parametrize(("path", "line"), DOCUMENTED.items(), ids=list(DOCUMENTED))
def test_each_stated_default_is_the_one_the_code_uses(path: str, line: str) -> None:
    default, _ = _load(MINIMAL)
    written, _ = _load(_written(path, line))
    assert written == default, f"config.example.toml states `{line}`; the code differs"


def _sections(settings: Settings) -> Iterator[object]:
    """Each settings class inside `settings`, one per table read."""
    for field in fields(settings):
        value = getattr(settings, field.name)
        for item in value if isinstance(value, tuple) else (value,):
            if is_dataclass(item) and type(item).__module__ == settings_module.__name__:
                yield item


def test_the_settings_classes_own_defaults_are_the_loaders() -> None:
    # Some fields have defaults for code that builds settings by hand; loading must agree.
    # The bare config has no rule, so that Settings.rules keeps its default () too.
    bare, _ = _load('[[queue]]\naddress = "support@example.com"\n')
    minimal, _ = _load(MINIMAL)
    for section in (bare, *_sections(minimal)):
        for field in fields(section):
            if field.default is not MISSING:
                expected = field.default
            elif field.default_factory is not MISSING:
                expected = field.default_factory()
            else:
                continue
            name = f"{type(section).__name__}.{field.name}"
            assert getattr(section, field.name) == expected, name
