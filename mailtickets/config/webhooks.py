"""Read `[[webhook]]` tables: where ticket events are posted, which ones, signed how.

The event names are a contract with receivers; they are listed here, where the
configuration checks them, and `outbox.webhooks` maps the ticket's events onto them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from urllib.parse import urlsplit

from mailtickets.config import reader as r
from mailtickets.config.settings import QueueSettings, WebhookSettings

#: Every event a webhook can receive.
EVENTS = (
    "ticket.created",
    "ticket.replied",
    "ticket.note_added",
    "ticket.status_changed",
    "ticket.priority_changed",
    "ticket.assigned",
    "ticket.tagged",
    "ticket.merged",
    "ticket.delivery_failed",
    "sla.warning",
    "sla.breached",
    "satisfaction.rated",
)
FORMATS = ("json", "slack")


def read_webhooks(
    tables: Iterable[r.Table],
    queues: Sequence[QueueSettings],
    env: Mapping[str, str],
    weakness: Callable[[str], str | None],
) -> tuple[WebhookSettings, ...]:
    """The receivers; `weakness` says why a secret is too weak to sign with (or None)."""
    hooks: list[WebhookSettings] = []
    for t in tables:
        hook = _webhook(t, queues, env, weakness)
        if any(hook.name == seen.name for seen in hooks):
            reason = f'"{hook.name}" is used by more than one webhook; give each its own name'
            t.problems.add(t.label, "name", reason)
        hooks.append(hook)
    return tuple(hooks)


def _webhook(
    t: r.Table,
    queues: Sequence[QueueSettings],
    env: Mapping[str, str],
    weakness: Callable[[str], str | None],
) -> WebhookSettings:
    url = t.get("url", _url, "", required=True)
    # Without a name, the URL's host: enough for one receiver per host.
    name = t.optional("name", r.nonempty) or urlsplit(url).hostname or "webhook"
    form = t.get("format", r.choice(*FORMATS), "json")
    events = t.optional("events", r.list_of(r.choice(*EVENTS)))
    if events == ():
        t.problems.add(t.label, "events", "must name at least one event (leave it out for all)")
    wanted: tuple[str, ...] = t.get("queues", r.list_of(r.nonempty), ())
    secret_env = t.optional("secret_env", r.nonempty)
    secret: bytes | None = None
    if secret_env is not None and not env.get(secret_env):
        t.problems.add(t.label, "secret_env", f"environment variable {secret_env} is not set")
    elif secret_env is not None:
        secret = env[secret_env].encode()
        if why := weakness(env[secret_env]):
            t.problems.add(t.label, "secret_env", f"environment variable {secret_env} {why}")
    elif form == "json":
        # An unsigned event is one anybody who finds the URL can forge.
        t.problems.add(t.label, "secret_env", 'is required with format = "json"')
    t.finish()
    return WebhookSettings(
        name=name,
        url=url,
        events=frozenset(events or EVENTS),
        queues=frozenset(_queue(t, ref, queues) for ref in wanted),
        format=form,
        secret=secret,
    )


def _url(value: object) -> str:
    text = r.nonempty(value).strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError('must be an http or https URL such as "https://hooks.example/helpdesk"')
    return text


def _queue(t: r.Table, ref: str, queues: Sequence[QueueSettings]) -> str:
    """The address of the queue `ref` names (by address or name)."""
    for queue in queues:
        if ref.lower() == queue.address.lower() or ref == queue.name:
            return queue.address.lower()
    t.problems.add(t.label, "queues", f'no [[queue]] "{ref}"')
    return ref.lower()
