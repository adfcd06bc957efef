"""`[[webhook]]` tables: every mistake named with its key and file, in one pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailtickets.config.load import parse_settings
from mailtickets.config.webhooks import EVENTS
from mailtickets.errors import ConfigError
from tests.support.cli import SECRET

QUEUES = '[[queue]]\naddress = "support@acme.example"\nname = "Support"\n'


def _load(webhooks: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    settings, _ = parse_settings(QUEUES + webhooks, "site.toml", Path("site.toml"), env or {})
    return settings.webhooks


def _problems(webhooks: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        _load(webhooks, env)
    return list(caught.value.problems)


def test_a_json_webhook_gets_every_event_and_its_secret() -> None:
    (hook,) = _load(
        '[[webhook]]\nurl = "https://hooks.acme.example/helpdesk"\nsecret_env = "HOOK"\n',
        {"HOOK": SECRET},
    )
    assert hook.name == "hooks.acme.example"
    assert hook.events == frozenset(EVENTS)
    assert hook.queues == frozenset()
    assert (hook.format, hook.secret) == ("json", SECRET.encode())
    assert "hooks.acme.example/helpdesk" not in repr(hook)  # a URL may hold a token


def test_a_slack_webhook_needs_no_secret_and_queues_are_named_either_way() -> None:
    (hook,) = _load(
        '[[webhook]]\nurl = "https://hooks.slack.example/services/T0/B0/x"\nformat = "slack"\n'
        'events = ["sla.breached"]\nqueues = ["Support"]\nname = "chat"\n'
    )
    assert (hook.name, hook.format, hook.secret) == ("chat", "slack", None)
    assert hook.events == {"sla.breached"}
    assert hook.queues == {"support@acme.example"}


def test_every_mistake_is_named_with_its_key() -> None:
    problems = _problems(
        '[[webhook]]\nurl = "ftp://hooks.acme.example"\nevents = ["ticket.exploded"]\n'
        'queues = ["sales"]\nformat = "xml"\ncolour = "red"\n'
        '[[webhook]]\nurl = "https://a.example/1"\nsecret_env = "UNSET"\nevents = []\n'
        '[[webhook]]\nurl = "https://a.example/2"\nsecret_env = "WEAK"\n',
        {"WEAK": "short"},
    )
    assert problems == [
        '[webhook.1] url: must be an http or https URL such as "https://hooks.example/helpdesk",'
        ' got "ftp://hooks.acme.example" (site.toml)',
        '[webhook.1] format: must be one of "json", "slack", got "xml" (site.toml)',
        '[webhook.1] events: must be one of "ticket.created", "ticket.replied", '
        '"ticket.note_added", "ticket.status_changed", "ticket.priority_changed", '
        '"ticket.assigned", "ticket.tagged", "ticket.merged", "ticket.delivery_failed", '
        '"sla.warning", "sla.breached", "satisfaction.rated", got a list (site.toml)',
        '[webhook.1] secret_env: is required with format = "json" (site.toml)',
        "[webhook.1] colour: unknown key (site.toml)",
        '[webhook.1] queues: no [[queue]] "sales" (site.toml)',
        "[webhook.2] events: must name at least one event (leave it out for all) (site.toml)",
        "[webhook.2] secret_env: environment variable UNSET is not set (site.toml)",
        "[webhook.3] secret_env: environment variable WEAK is too short (5 characters, at least"
        " 32 are needed) (site.toml)",
        '[webhook.3] name: "a.example" is used by more than one webhook; give each its own name'
        " (site.toml)",
    ]
