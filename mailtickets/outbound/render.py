"""Render outgoing mail from Jinja2 templates: `<locale>/<audience>/<event>.{txt,html}.j2`.

The text template sets the subject with `{% set subject %}…{% endset %}`; the HTML template
is optional per site but shipped for every event. A site directory is searched before the
packaged templates, so an operator overrides one file by copying it. Undefined variables are
errors (StrictUndefined) and HTML is autoescaped: customer text is data, never markup.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    select_autoescape,
)
from markupsafe import Markup, escape

from mailtickets.resources import resource_dir

DEFAULT_LOCALE = "en"
LOCALES = ("en", "pt_BR")

#: Every mail mailtickets sends, as `<audience>/<event>`.
TEMPLATES = (
    "customer/acknowledgement",
    "customer/agent_reply",
    "customer/resolved",
    "customer/auto_closed",
    "customer/attachment_too_large",
    "customer/satisfaction_request",
    "customer/satisfaction_thanks",
    "agent/new_ticket",
    "agent/customer_replied",
    "agent/note_added",
    "agent/assigned",
    "agent/sla_warning",
    "agent/sla_breached",
    "agent/delivery_failed",
    "agent/command_error",
    "agent/daily_digest",
    "agent/files",
    "agent/files_not_sent",
    "agent/unverified",
    "agent/not_recorded",
    "agent/nothing_new",
    "agent/history",
    "agent/absence",
    "agent/my_tickets",
    "customer/agents_only",
    "agent/reply_held",
    "agent/held_reply_expired",
    "agent/answered",
    "agent/on_call_escalated",
    "agent/flood",
)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str | None


def nl2br(value: object) -> Markup:
    """Plain text as HTML: escaped, line breaks kept."""
    return Markup("<br>\n").join(escape(str(value)).split("\n"))


def filesize(value: object, locale: str = DEFAULT_LOCALE) -> str:
    """A byte count as people read it, in decimal units: "950 bytes", "12 KB", "15.2 MB"."""
    size = int(str(value))
    if size < 1000:
        return f"{size} bytes"
    for unit, scale in (("KB", 10**3), ("MB", 10**6), ("GB", 10**9)):
        if size < 1000 * scale or unit == "GB":
            amount = size / scale
            text = f"{amount:.1f}" if amount < 100 else f"{amount:.0f}"
            return f"{text.replace('.', ',') if locale == 'pt_BR' else text} {unit}"
    raise AssertionError("unreachable")


def environment(site_dir: Path | None = None) -> Environment:
    loaders = [FileSystemLoader(site_dir)] if site_dir else []
    loaders.append(FileSystemLoader(resource_dir("templates")))
    env = Environment(
        loader=ChoiceLoader(loaders),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["nl2br"] = nl2br
    env.filters["filesize"] = filesize
    return env


def customer_locales(env: Environment) -> tuple[str, ...]:
    """The locales a customer can be written to in: those with an acknowledgement template,
    packaged or the site's own."""
    suffix = "/customer/acknowledgement.txt.j2"
    return tuple(
        sorted({n.removesuffix(suffix) for n in env.list_templates() if n.endswith(suffix)})
    )


def render(env: Environment, name: str, locale: str, context: Mapping[str, Any]) -> Rendered:
    """Render `name` (e.g. `customer/acknowledgement`) in `locale`, falling back to English."""
    base = _locate(env, name, locale)
    module = env.get_template(f"{base}.txt.j2").make_module(dict(context))
    subject = " ".join(str(getattr(module, "subject", "")).split())
    if not subject:
        raise ValueError(f"template {base}.txt.j2 sets no subject")
    try:
        html = env.get_template(f"{base}.html.j2").render(context)
    except TemplateNotFound:
        html = None
    return Rendered(subject=subject, text=str(module).strip() + "\n", html=html)


def _locate(env: Environment, name: str, locale: str) -> str:
    for candidate in dict.fromkeys((locale, DEFAULT_LOCALE)):
        try:
            env.get_template(f"{candidate}/{name}.txt.j2")
        except TemplateNotFound:
            continue
        return f"{candidate}/{name}"
    raise TemplateNotFound(f"{locale}/{name}.txt.j2")


#: Data with every variable any template may use, for `templates check` and `show`.
SAMPLE_CONTEXT: dict[str, Any] = {
    "ticket": {
        "id": 1042,
        "subject": "Impressora não imprime <script>alert(1)</script>",
        "status": "open",
        "priority": "normal",
        "tag": "[ACME #1042]",
    },
    "queue": {"name": "Support", "address": "support@acme.example"},
    "customer": {"name": "Ana Cliente", "address": "ana@example.com", "locale": "pt_BR"},
    "message": {
        "author": "Ana Cliente <ana@example.com>",
        "new_text": "The printer shows error E-42.\n\n{{ 7 * 7 }} <b>not bold</b>",
    },
    "reply_to": "support+1042.0.0.0123456789abcdef@acme.example",
    "omitted_attachments": ["scan-2026-11-02.pdf"],
    "files": {
        "carried": [
            {
                "number": 1,
                "name": "photo.png",
                "size": 48213,
                "inline": True,
                "cid": "0f3a.1@mailtickets",
                "command": "mailtickets tickets attachment 1042 1 --output photo.png",
            },
            {
                "number": 2,
                "name": "invoice & receipt.pdf",
                "size": 182734,
                "inline": False,
                "cid": "9b2c.2@mailtickets",
                "command": "mailtickets tickets attachment 1042 2 --output 'invoice & receipt.pdf'",
            },
        ],
        "left": [
            {
                "number": 3,
                "name": "video.mp4",
                "size": 15728640,
                "mailable": False,
                "command": "mailtickets tickets attachment 1042 3 --output video.mp4",
            },
            {
                "number": 5,
                "name": "log.txt",
                "size": 3000000,
                "mailable": True,
                "command": "mailtickets tickets attachment 1042 5 --output log.txt",
            },
        ],
        "not_kept": [
            {
                "number": 4,
                "name": "scan-2026-11-02.pdf",
                "size": 31457280,
                "command": "mailtickets tickets attachment 1042 4 --output scan-2026-11-02.pdf",
            },
        ],
        "unlisted": 3,
        "cap": 10000000,
    },
    "part": {"number": 1, "of": 2},
    "answer": {
        "title": "Resetting your password",
        "text": "1. Open the sign-in page.\n2. Choose <Forgot password?>.",
        "html": "<ol><li>Open the sign-in page.</li></ol>",
    },
    "open_tickets": [{"id": 1001, "subject": "Invoice address", "status": "pending"}],
    "last_rating": {"ticket": 998, "rating": 4, "comment": "Quick, but I had to <b>ask</b> twice."},
    "agent": {"name": "Alice", "signature": "Alice — ACME Support"},
    "commands": [
        "#status open|pending|resolved|closed",
        "#assign <agent address>|me",
        "#priority low|normal|high|urgent",
        "#note",
    ],
    "sla": {"kind": "first_response", "due": "2026-11-02 13:00 UTC", "remaining": "48m"},
    "expect": {"on_call": "Bruno", "opens_at": "Monday, November 2, 2026, 9:00 AM (UTC)"},
    "on_call": {
        "agent": "Bruno <bruno@acme.example>",
        "rota": "nights",
        "paged_at": "2026-11-01 03:00 UTC",
        "waited": "30m",
    },
    "recipients": {"to": ["ana@example.com"], "pending": ["<b>bia</b>@example.com"]},
    "failure": {
        "recipient": "ana@example.com",
        "status": "5.1.1",
        "reason": "550 5.1.1 user unknown",
    },
    "errors": ["#priorty high: unknown command"],
    "flood": {
        "source": "flood@robot.example",
        "messages": 21,
        "first": 1042,
        "last": 1042,
        "threshold": 20,
        # The notice that a flood began, about a ticket; its summary (True) is about none.
        "over": False,
    },
    "assigned_by": "Bruno <bruno@acme.example>",
    "absence": {"state": "auto_reply", "until": None, "reason": None},
    "refused": {"commands": ["#follow"]},
    "my_tickets": {
        "date": "2026-11-03",
        "tickets": [
            {
                "id": 1042,
                "subject": "Impressora não imprime <script>alert(1)</script>",
                "status": "open",
                "customer": "ana@example.com",
                "due": "2026-11-03 13:00 UTC",
                "last": "Ana Cliente: The printer shows error E-42.",
                "reply_to": "support+1042.3.0.0123456789abcdef@acme.example",
            }
        ],
    },
    "note": {"author": "Bruno <bruno@acme.example>", "text": "Called the customer."},
    "auto_close_after": "7 days",
    "held": {
        "text": "Try the other tray <b>first</b>.",
        "held_at": "2026-11-02 10:05 UTC",
        "expires": "2026-11-03 10:05 UTC",
    },
    "newer": [
        {
            "author": "Alice <alice@acme.example>",
            "when": "2026-11-02 10:00 UTC",
            "text": "Please restart it <b>now</b>.",
        }
    ],
    "answered": {"author": "Alice <alice@acme.example>", "text": "Please restart it <b>now</b>."},
    "why": {"code": "authentication", "detail": "no DKIM or SPF pass for acme.example"},
    "mail": {"subject": "Re: Impressora <script>alert(1)</script>"},
    "history": {
        "messages": [
            {
                "author": "Alice <alice@acme.example>",
                "when": "2026-11-02 10:00 UTC",
                "kind": "agent",
                "text": "Please restart it <b>now</b>.",
                "cut": False,
            },
            {
                "author": "Ana Cliente <ana@example.com>",
                "when": "2026-11-02 09:00 UTC",
                "kind": "customer",
                "text": "The printer shows error E-42. …",
                "cut": True,
            },
        ],
        "more": 3,
    },
    "record": {
        "assignee": "alice@acme.example",
        "tags": ["billing"],
        "files": 1,
        "entries": [
            {
                "type": "message",
                "author": "Ana Cliente <ana@example.com>",
                "when": "2026-11-02 09:00 UTC",
                "kind": "customer",
                "text": "The printer shows error E-42.\n\n{{ 7 * 7 }} <b>not bold</b>",
                "left_out": 120,
                "files": [{"name": "scan.pdf", "size": 48213, "omitted": None}],
            },
            {
                "type": "change",
                "kind": "priority",
                "when": "2026-11-02 09:05 UTC",
                "author": "alice@acme.example",
                "data": {"priority": "urgent"},
            },
        ],
    },
    "digest": {
        "date": "2026-11-02",
        "queues": [
            {
                "name": "Support",
                "address": "support@acme.example",
                "open": 12,
                "pending": 4,
                "due_today": 3,
                "breached": 1,
                "week": {
                    "created": 40,
                    "resolved": 37,
                    "within_sla_percent": 92.5,
                    "ratings": 12,
                    "csat_average": 4.4,
                    "csat_percent": 83.3,
                },
            }
        ],
        "since": "2026-10-26",
    },
    "charts": {
        "volume": {
            "cid": "volume.chart@mailtickets",
            "labels": ["10-31", "11-01", "11-02"],
            "series": {"created": [5, 2, 7], "resolved": [4, 3, 6]},
        }
    },
}
