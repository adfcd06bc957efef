"""Spam is held in quarantine, never acknowledged, and released by `quarantine retry`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailtickets.db.models import IntakeStatus
from mailtickets.pipeline.worker import Processed, claim, process
from tests.support.cli import SECRET, mailtickets
from tests.support.helpdesk import CONFIG, HOLDER, Helpdesk, make_helpdesk
from tests.support.mail import compose

SPAM = """
[spam]
block = ["offers@spam.example", "bulk.example"]
allow = ["partner.example"]

[[rule]]
name = "crypto"
[rule.match]
subject = ["bitcoin", "crypto"]
[rule.set]
spam = true
"""


@pytest.fixture
def guarded(database_url: str, tmp_path: Path) -> Iterator[Helpdesk]:
    desk = make_helpdesk(database_url, tmp_path, SPAM)
    yield desk
    desk.app.engine.dispose()


def _held(desk: Helpdesk, result: Processed, reason: str) -> None:
    assert result.status is IntakeStatus.QUARANTINED
    assert result.error is not None and result.error.startswith(f"spam: {reason}")
    assert result.ticket_id is None
    assert desk.outbox() == []  # never acknowledged


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("X-Spam-Flag", "YES"),
        ("X-Spam-Status", "Yes, score=9.3 required=5.0 tests=BAYES_99,URIBL_BLACK"),
        ("X-Spam", "Yes"),
    ],
)
def test_the_mtas_spam_verdict_holds_the_message(
    guarded: Helpdesk, header: str, value: str
) -> None:
    result = guarded.deliver(compose(headers={header: value}))
    _held(guarded, result, f"{header}: {value}"[:40])


def test_a_no_from_the_mta_changes_nothing(guarded: Helpdesk) -> None:
    result = guarded.deliver(
        compose(headers={"X-Spam-Flag": "NO", "X-Spam-Status": "No, score=0.1"})
    )
    assert result.outcome == "new_ticket"


def test_block_list_addresses_domains_and_subdomains(guarded: Helpdesk) -> None:
    listed = {
        "offers@spam.example": "offers@spam.example",
        "x@bulk.example": "bulk.example",
        "y@mail.bulk.example": "bulk.example",  # a subdomain of a listed domain
    }
    for sender, entry in listed.items():
        result = guarded.deliver(compose(sender=sender))
        _held(guarded, result, f"{entry} is on the block list")
    # The envelope sender counts too: a forged From does not get past the list.
    result = guarded.deliver(compose(), mail_from="offers@spam.example")
    _held(guarded, result, "offers@spam.example is on the block list")


def test_the_allow_list_wins_over_the_mta(guarded: Helpdesk) -> None:
    result = guarded.deliver(
        compose(sender="Paula <paula@partner.example>", headers={"X-Spam-Flag": "YES"})
    )
    assert result.outcome == "new_ticket"


def test_a_rule_can_mark_spam(guarded: Helpdesk) -> None:
    result = guarded.deliver(compose(subject="Double your Bitcoin today"))
    _held(guarded, result, "rule crypto")


def test_released_spam_opens_its_ticket_and_is_acknowledged(
    guarded: Helpdesk, tmp_path: Path, database_url: str
) -> None:
    held = guarded.deliver(compose(subject="Real question", headers={"X-Spam-Flag": "YES"}))
    _held(guarded, held, "X-Spam-Flag: YES")
    config = tmp_path / "site.toml"
    config.write_text(CONFIG.format(url=database_url, directory=tmp_path) + SPAM)
    env = {"SECRET": SECRET}
    listed = mailtickets("--config", str(config), "quarantine", "list", cwd=tmp_path, env=env)
    assert "spam: X-Spam-Flag: YES" in listed.stdout
    released = mailtickets(
        "--config", str(config), "quarantine", "retry", str(held.intake_id), cwd=tmp_path, env=env
    )
    assert released.returncode == 0, released.stderr
    now = datetime.now(UTC)  # the command line put it back in line on the real clock
    intake_id = claim(
        guarded.app.sessions, now, guarded.app.settings.ingest.retry_delay, holder=HOLDER
    )
    assert intake_id == held.intake_id
    result = process(guarded.app.sessions, intake_id, guarded.app.pipeline, now, 3)
    assert result.outcome == "new_ticket" and result.ticket_id is not None
    templates = [row.template for row in guarded.outbox(result.ticket_id)]
    assert "customer/acknowledgement" in templates
