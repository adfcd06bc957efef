"""Hostile mail through the real pipeline, on SQLite and on PostgreSQL: every message of the
corpus (`corpus.py`) is processed or quarantined with a reason; no file lands outside the
attachment store (the database); the mail we send in answer carries no injected header or
recipient, and its HTML no live script."""

from __future__ import annotations

import os
from collections import Counter
from datetime import timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from html.parser import HTMLParser
from pathlib import Path

from mailtickets.db.models import IntakeStatus
from tests.faults.corpus import INJECTED, TRAVERSAL_TARGET, corpus
from tests.faults.figures import Figures
from tests.faults.site import take_sent
from tests.support.helpdesk import Helpdesk
from tests.support.mail import compose

TERMINAL = {IntakeStatus.DONE, IntakeStatus.QUARANTINED, IntakeStatus.DISCARDED}
ADDRESS_HEADERS = ("To", "Cc", "Bcc", "Reply-To", "From", "Sender")


class _LiveHtml(HTMLParser):
    """Collects what a mail client would run: script-like tags, event handlers, js links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "iframe", "object", "embed"):
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on") or (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value!r}>")


def _live_html(message: EmailMessage) -> list[str]:
    found = []
    for part in message.walk():
        if part.get_content_type() == "text/html":
            parser = _LiveHtml()
            parser.feed(part.get_content())
            found += parser.found
    return found


def _sent(desk: Helpdesk) -> list[EmailMessage]:
    sent = []
    for raw in take_sent(desk):
        parsed = message_from_bytes(raw, policy=default)
        assert isinstance(parsed, EmailMessage)
        sent.append(parsed)
    return sent


def _files(root: Path) -> set[Path]:
    return {Path(d) / f for d, _, files in os.walk(root) for f in files}


def test_hostile_corpus(any_helpdesk: Helpdesk, tmp_path: Path, figures: Figures) -> None:
    desk = any_helpdesk
    # What our mail looks like for a plain message: the headers any answer may carry.
    desk.deliver(compose())
    baseline = {name for mail in _sent(desk) for name in mail}
    allowed = baseline | {"Cc", "In-Reply-To", "References"}
    before = _files(tmp_path)

    cases = corpus()
    statuses: dict[str, IntakeStatus] = {}
    reasons: dict[str, str] = {}
    for name, raw in cases:
        # An hour apart, so that the acknowledgement limit lets every answer be checked.
        desk.clock.advance(timedelta(hours=1))
        result = desk.deliver(raw, mail_from="eve@attacker.example")
        statuses[name] = (
            desk.settle(result.intake_id)
            if result.status is IntakeStatus.PENDING
            else result.status
        )
        if statuses[name] is IntakeStatus.QUARANTINED:
            reasons[name] = str(desk.intake(IntakeStatus.QUARANTINED)[-1].last_error)
    sent = _sent(desk)

    outbox_dir = desk.app.settings.outgoing.maildir
    new_files = {
        path
        for path in _files(tmp_path) - before
        if outbox_dir not in path.parents and not path.name.startswith("mailtickets.db")
    }
    escaped = [
        p for p in (Path("/tmp") / TRAVERSAL_TARGET, Path.cwd() / TRAVERSAL_TARGET) if p.exists()
    ]
    stored_names = [
        attachment["filename"]
        for row in desk.intake()
        if row.ticket_id is not None
        for message in desk.ticket(row.ticket_id)["messages"]
        for attachment in message["attachments"]
    ]
    bad_names = [
        n for n in stored_names if "/" in n or "\\" in n or "\x00" in n or n.startswith(".")
    ]
    foreign_headers = sorted({name for mail in sent for name in mail if name not in allowed})
    injected = [
        (mail["Subject"], header)
        for mail in sent
        for header in ADDRESS_HEADERS
        if INJECTED in str(mail.get(header, ""))
    ]
    live = [(mail["Subject"], found) for mail in sent for found in _live_html(mail)]
    unsettled = [name for name, status in statuses.items() if status not in TERMINAL]

    figures.tried = (
        f"{len(cases)} hostile messages ({sum(len(r) for _, r in cases) // 1024} KiB): broken "
        "MIME, deep nesting, huge headers, bad encodings, NUL bytes, header injection, "
        "scripts, zip bomb, path traversal"
    )
    figures.malformed, figures.lost = len(cases), len(unsettled)
    figures.note(f"outcomes: {dict(Counter(str(s) for s in statuses.values()))}")
    figures.note(f"quarantined with reasons: {reasons}")
    figures.note(
        f"{len(sent)} mails sent in answer; foreign headers {foreign_headers}, "
        f"injected recipients {len(injected)}, live HTML {len(live)}; "
        f"{len(stored_names)} attachments stored, {len(bad_names)} unsafe names, "
        f"{len(new_files) + len(escaped)} files outside the store"
    )
    figures.survived = f"{len(cases) - len(unsettled)} of {len(cases)} settled, no harm found"
    assert unsettled == []
    assert all(reasons.values())
    assert foreign_headers == [] and injected == [] and live == []
    assert bad_names == [] and new_files == set() and escaped == []
    # And the next customer is served as usual.
    assert desk.deliver(compose()).outcome == "new_ticket"
