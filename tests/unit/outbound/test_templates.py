"""Every shipped mail template, in every locale: renders, escapes, translates, overrides."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import jinja2
import pytest

from mailtickets.outbound.render import (
    LOCALES,
    SAMPLE_CONTEXT,
    TEMPLATES,
    Rendered,
    environment,
    render,
)
from mailtickets.resources import resource_dir

CASES = [(name, locale) for name in TEMPLATES for locale in LOCALES]
SUBJECT = SAMPLE_CONTEXT["ticket"]["subject"]
NEW_TEXT = SAMPLE_CONTEXT["message"]["new_text"]
#: Templates that show the customer's (or agent's) new text.
SHOWS_NEW_TEXT = {"customer/agent_reply", "agent/new_ticket", "agent/customer_replied"}
#: Templates that show a message's text from the ticket's record (`#history`).
SHOWS_RECORD = {"agent/history"}
#: Customer mails that keep the customer's own subject so clients thread them.
PLAIN_SUBJECT = {"customer/acknowledgement", "customer/agent_reply"}
#: Only the agent's own words and signature: nothing in it to translate.
NOTHING_TO_TRANSLATE = {"customer/agent_reply"}
#: What ticket_context() gives every template; the rest is per event.
BASE_KEYS = {
    "ticket",
    "queue",
    "customer",
    "message",
    "open_tickets",
    "last_rating",
    "agent",
    "commands",
    "omitted_attachments",
    "files",
    "history",
}
# Mail about the queues as a whole, which shows no ticket's (customer's) text.
ABOUT_NO_TICKET = {"agent/daily_digest", "agent/absence"}
EVENT_KEYS = {
    "customer/auto_closed": {"auto_close_after"},
    "agent/note_added": {"note"},
    "agent/assigned": {"assigned_by"},
    "agent/sla_warning": {"sla"},
    "agent/sla_breached": {"sla"},
    "agent/delivery_failed": {"failure"},
    "agent/command_error": {"errors"},
    "agent/daily_digest": {"digest", "charts"},
    "agent/files": {"part"},
    "agent/unverified": {"why", "mail"},
    "agent/not_recorded": {"why", "mail"},
    "agent/history": {"record"},
    "agent/absence": {"absence"},
    "agent/my_tickets": {"my_tickets"},
    "customer/agents_only": {"refused"},
    "agent/reply_held": {"held", "newer"},
    "agent/held_reply_expired": {"held"},
    "agent/answered": {"answered"},
    "agent/on_call_escalated": {"on_call"},
    "agent/flood": {"flood"},
}
ENGLISH = re.compile(r"\b(the|your|you|please|ticket|reply|thank|hello|regards)\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def env() -> jinja2.Environment:
    return environment()


@pytest.fixture(scope="module")
def rendered(env: jinja2.Environment) -> dict[tuple[str, str], Rendered]:
    return {(name, locale): render(env, name, locale, SAMPLE_CONTEXT) for name, locale in CASES}


def sample_values(value: Any) -> list[str]:
    """Every string in the sample data, the things a template only passes through."""
    if isinstance(value, dict):
        return [s for v in value.values() for s in sample_values(v)]
    if isinstance(value, list):
        return [s for v in value for s in sample_values(v)]
    return [str(value)] if value is not None else []


def without_sample_data(text: str) -> str:
    for value in sorted(sample_values(SAMPLE_CONTEXT), key=len, reverse=True):
        for part in value.split("\n"):
            if part.strip():
                text = text.replace(part, " ")
    return text


@pytest.mark.parametrize(("name", "locale"), CASES)
def test_shipped_for_every_locale(name: str, locale: str) -> None:
    for kind in ("txt", "html"):
        assert (resource_dir("templates") / locale / f"{name}.{kind}.j2").is_file()


@pytest.mark.parametrize(("name", "locale"), CASES)
def test_renders_subject_text_and_html(
    rendered: dict[tuple[str, str], Rendered], name: str, locale: str
) -> None:
    mail = rendered[name, locale]
    assert mail.subject.strip()
    assert "\n" not in mail.subject
    assert "[ACME #1042]" not in mail.subject  # code adds the tag
    assert mail.text.strip()
    assert mail.html is not None
    assert mail.html.strip()
    if name in PLAIN_SUBJECT:
        assert mail.subject == SUBJECT


@pytest.mark.parametrize(("name", "locale"), CASES)
def test_customer_data_is_escaped_in_html(
    rendered: dict[tuple[str, str], Rendered], name: str, locale: str
) -> None:
    html = rendered[name, locale].html
    assert html is not None
    assert "<script>" not in html
    assert "<b>not bold" not in html
    if name in SHOWS_NEW_TEXT:
        assert "&lt;b&gt;not bold&lt;/b&gt;" in html
        assert "The printer shows error E-42.<br>" in html
    elif name not in ABOUT_NO_TICKET:
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.parametrize(("name", "locale"), CASES)
def test_jinja_in_customer_text_is_not_evaluated(
    rendered: dict[tuple[str, str], Rendered], name: str, locale: str
) -> None:
    mail = rendered[name, locale]
    assert mail.html is not None
    assert "49" not in mail.text
    assert "49" not in mail.html
    if name in SHOWS_NEW_TEXT:
        assert "{{ 7 * 7 }}" in mail.text
        assert "{{ 7 * 7 }}" in mail.html


@pytest.mark.parametrize("name", TEMPLATES)
def test_pt_br_is_translated(rendered: dict[tuple[str, str], Rendered], name: str) -> None:
    en, pt = rendered[name, "en"], rendered[name, "pt_BR"]
    assert pt.html != en.html
    assert 'lang="pt-BR"' in (pt.html or "")
    if name in NOTHING_TO_TRANSLATE:
        return
    assert pt.text != en.text
    if name not in PLAIN_SUBJECT:
        assert pt.subject != en.subject
    leftover = ENGLISH.findall(without_sample_data(pt.text))
    assert not leftover, f"English left in pt_BR {name}: {leftover}"


@pytest.mark.parametrize(("name", "locale"), CASES)
def test_text_is_tidy(rendered: dict[tuple[str, str], Rendered], name: str, locale: str) -> None:
    text = rendered[name, locale].text
    passed_through = [SUBJECT, *NEW_TEXT.split("\n")]
    for line in text.split("\n"):
        assert line == line.rstrip(), f"trailing whitespace: {line!r}"
        if any(p in line for p in passed_through) or "@" in line or "://" in line:
            continue
        assert len(line) <= 100, f"long line: {line!r}"
    assert "\n\n\n" not in text
    assert "None" not in text


@pytest.mark.parametrize(("name", "locale"), CASES)
def test_needs_only_its_own_variables(env: jinja2.Environment, name: str, locale: str) -> None:
    """What the pipeline builds (ticket_context plus the event's keys) is enough."""
    keys = BASE_KEYS | EVENT_KEYS.get(name, set())
    render(env, name, locale, {k: v for k, v in SAMPLE_CONTEXT.items() if k in keys})


@pytest.mark.parametrize(("name", "locale"), CASES)
def test_missing_and_empty_values_are_handled(
    env: jinja2.Environment, name: str, locale: str
) -> None:
    context = copy.deepcopy(SAMPLE_CONTEXT)
    context["customer"]["name"] = None
    context["customer"]["locale"] = None
    context["open_tickets"] = []
    context["last_rating"] = None
    context["charts"] = {}
    week = context["digest"]["queues"][0]["week"]
    week["within_sla_percent"] = week["csat_average"] = week["csat_percent"] = None
    context["failure"]["reason"] = None
    context["sla"]["remaining"] = None
    context["assigned_by"] = None
    context["note"]["author"] = None
    if name != "customer/agent_reply":
        context["agent"] = None
        context["omitted_attachments"] = []
    mail = render(env, name, locale, context)
    assert mail.html is not None
    for part in (mail.subject, mail.text, mail.html):
        assert "None" not in part
    if name.startswith("customer/") and name != "customer/agent_reply":
        assert "ana@example.com" in mail.text  # addressed by address when there is no name


def test_acknowledgement_mentions_omitted_attachments_only_when_there_are_some(
    env: jinja2.Environment,
) -> None:
    with_files = render(env, "customer/acknowledgement", "en", SAMPLE_CONTEXT)
    assert "scan-2026-11-02.pdf" in with_files.text
    assert "too large" in with_files.text
    without = render(
        env, "customer/acknowledgement", "en", {**SAMPLE_CONTEXT, "omitted_attachments": []}
    )
    assert "too large" not in without.text
    assert "[ACME #1042]" in without.text


def test_agent_mails_list_the_commands(rendered: dict[tuple[str, str], Rendered]) -> None:
    for name in ("agent/new_ticket", "agent/customer_replied", "agent/command_error"):
        for locale in LOCALES:
            mail = rendered[name, locale]
            assert mail.html is not None
            assert "#priority low|normal|high|urgent" in mail.text
            assert "#assign &lt;agent address&gt;|me" in mail.html


def test_site_directory_overrides_one_file(tmp_path: Path) -> None:
    override = tmp_path / "en" / "customer" / "resolved.txt.j2"
    override.parent.mkdir(parents=True)
    override.write_text("{% set subject %}Done: {{ ticket.id }}{% endset %}\nAll done.\n")
    env = environment(tmp_path)
    mail = render(env, "customer/resolved", "en", SAMPLE_CONTEXT)
    assert mail.subject == "Done: 1042"
    assert mail.text == "All done.\n"
    assert mail.html is not None
    assert "resolved" in mail.html  # the packaged HTML part is still used
    assert render(env, "customer/resolved", "pt_BR", SAMPLE_CONTEXT).subject.startswith(
        "Resolvido:"
    )


def test_unknown_locale_falls_back_to_english(
    env: jinja2.Environment, rendered: dict[tuple[str, str], Rendered]
) -> None:
    assert (
        render(env, "customer/resolved", "xx_YY", SAMPLE_CONTEXT)
        == rendered["customer/resolved", "en"]
    )


def test_missing_variable_is_an_error(env: jinja2.Environment) -> None:
    context = {k: v for k, v in SAMPLE_CONTEXT.items() if k != "ticket"}
    with pytest.raises(jinja2.UndefinedError):
        render(env, "customer/acknowledgement", "en", context)
