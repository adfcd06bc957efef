"""The real daemon behind a relay that refuses every recipient in Postfix's words: the outbox
holds, /healthz and /metrics say why, the log says it once, nobody is suppressed, and
`outbox retry --all` resumes once the relay is fixed. Also what the CLI shows and lifts."""

from __future__ import annotations

import json
import smtplib
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from mailtickets.db.models import Contact, OutboundMessage, OutboundStatus
from tests.faults.site import QUEUE, Site, wire
from tests.support.mail import compose
from tests.support.relay import Relay

RELAY_DENIED = "554 5.7.1 <{address}>: Relay access denied"
CUSTOMERS = ["ana@example.com", "bia@example.com", "caio@example.com"]


@pytest.fixture
def site(tmp_path: Path, relay: Relay) -> Iterator[Site]:
    # Held mail waits an hour between tries here, so that only the operator's retry sends it.
    site = Site(tmp_path, relay_port=relay.port, outgoing_retry="1h")
    yield site
    site.close()


def _json(site: Site, *args: str) -> Any:
    done = site.cli(*args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _until(look: Callable[[], Any], done: Callable[[Any], bool], what: str) -> Any:
    """Look (a CLI run each time, so no sleeping) until `done` holds of what was seen."""
    seen = None
    for _ in range(100):
        seen = look()
        if done(seen):
            return seen
    raise AssertionError(f"{what}: never happened; last seen {seen!r}")


def _metric(site: Site, name: str) -> float:
    url = f"http://127.0.0.1:{site.metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as answer:
        text = answer.read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    )


def test_a_relay_refusing_everyone_holds_the_outbox_until_retry(site: Site, relay: Relay) -> None:
    relay.handler.rcpt_answer = RELAY_DENIED
    with site.daemon() as daemon:
        with smtplib.SMTP("127.0.0.1", site.smtp_port, timeout=30) as client:
            for customer in CUSTOMERS:
                client.sendmail(customer, [QUEUE], wire(compose(sender=customer)))

        def all_held(rows: list[dict[str, Any]]) -> bool:
            return len(rows) == 3 and all(row["held"] for row in rows)

        rows = _until(lambda: _json(site, "outbox", "list"), all_held, "three held messages")
        assert sorted(r["recipients"][0] for r in rows) == CUSTOMERS
        for row in rows:
            assert row["status"] == "pending"
            (customer,) = row["recipients"]
            assert (
                row["last_error"]
                == f"held: {customer}: 554 5.7.1 <{customer}>: Relay access denied"
            )
        listed = site.cli("outbox", "list").stdout.splitlines()
        assert listed[0].split() == [
            "id",
            "status",
            "ticket",
            "template",
            "to",
            "next",
            "try",
            "last",
            "error",
        ]
        assert [line.split()[1] for line in listed[1:-1]] == ["held"] * 3
        assert listed[-1] == "3 message(s)"

        assert _json(site, "contacts", "suppressed") == []
        code, health = site.health()
        sender = health["parts"]["outbox sender"]  # type: ignore[index]
        assert (code, sender["ok"]) == (503, False)
        assert (
            f"relay 127.0.0.1:{relay.port} refuses mail for reasons of its own (554 5.7.1 <"
            in (sender["detail"])
        )
        assert "Relay access denied" in sender["detail"]
        assert _metric(site, "mailtickets_outbox_relay_refusals_total") >= 3

        # The operator fixes the relay and resumes.
        relay.handler.rcpt_answer = None
        retried = site.cli("outbox", "retry", "--all")
        assert retried.returncode == 0, retried.stderr
        assert retried.stdout == (
            "3 message(s) queued for sending now (0 failed, 3 waiting); "
            "the running daemon sends them\n"
        )
        _until(lambda: _json(site, "outbox", "list"), lambda rows: rows == [], "all sent")
        code, health = site.health()
        assert code == 200, health
        assert daemon.stop() == 0, daemon.output
    assert sorted(r.recipients[0] for r in relay.received) == CUSTOMERS
    refusing = [line for line in daemon.output.splitlines() if "refuses mail" in line]
    assert len(refusing) == 1, daemon.output
    assert "fix the relay, then run `mailtickets outbox retry --all`" in refusing[0]
    assert daemon.output.count("takes held mail again; the outbox resumes") == 1


def test_retry_lifts_what_a_relay_refusal_suppressed_and_nothing_else(
    tmp_path: Path, relay: Relay, database_url: str
) -> None:
    site = Site(tmp_path, database_url=database_url, relay_port=relay.port)
    try:
        _lift_and_list(site)
    finally:
        site.close()


def _lift_and_list(site: Site) -> None:
    queued = site.cli("send-test", "ana@example.com")
    assert queued.returncode == 0, queued.stderr
    # What older versions left after a relay answered "Relay access denied": a failed
    # acknowledgement and its recipient suppressed. Bob bounced for real (a DSN).
    then = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    refused = "ana@example.com: 554 5.7.1 <ana@example.com>: Relay access denied"
    relay_reason = f"refused by the relay: {refused}"
    with site.sessions.begin() as session:
        (row,) = session.scalars(select(OutboundMessage))
        row.status, row.last_error = OutboundStatus.FAILED, refused
        for address, reason in [
            ("ana@example.com", relay_reason),
            ("bob@example.com", "hard bounce: 5.1.1 (smtp; 550 5.1.1 user unknown)"),
        ]:
            session.add(
                Contact(
                    address=address,
                    created_at=then,
                    updated_at=then,
                    suppressed_at=then,
                    suppressed_reason=reason,
                )
            )

    listed = _json(site, "contacts", "suppressed")
    assert [(s["address"], s["reason"]) for s in listed] == [
        ("ana@example.com", relay_reason),
        ("bob@example.com", "hard bounce: 5.1.1 (smtp; 550 5.1.1 user unknown)"),
    ]
    assert {tuple(sorted(s)) for s in listed} == {("address", "name", "reason", "suppressed_at")}
    assert listed[0]["suppressed_at"] == then.isoformat()
    text = site.cli("contacts", "suppressed").stdout.splitlines()
    assert text[0].split() == ["suppressed", "address", "reason"]
    assert text[1].split()[:3] == ["2026-11-02", "09:00", "ana@example.com"]
    assert text[-1] == "2 suppressed address(es)"

    retried = site.cli("outbox", "retry", "--all")
    assert retried.stdout.splitlines() == [
        "1 message(s) queued for sending now (1 failed, 0 waiting); the running daemon sends them",
        "ana@example.com: no longer suppressed (the relay refused it for its own reasons)",
    ]
    assert [s["address"] for s in _json(site, "contacts", "suppressed")] == ["bob@example.com"]
    (row,) = _json(site, "outbox", "list")
    assert (row["status"], row["held"], row["attempts"]) == ("pending", False, 0)

    lifted = site.cli("contacts", "unsuppress", "bob@example.com")
    assert lifted.stdout == (
        "bob@example.com: automatic mail allowed again "
        "(was suppressed: hard bounce: 5.1.1 (smtp; 550 5.1.1 user unknown))\n"
    )
    again = site.cli("contacts", "unsuppress", "bob@example.com")
    assert again.stdout == "bob@example.com: not suppressed; nothing to do\n"
    unknown = site.cli("contacts", "unsuppress", "nobody@example.com")
    assert (unknown.returncode, unknown.stderr) == (
        1,
        "mailtickets: no contact nobody@example.com\n",
    )
    assert _json(site, "contacts", "suppressed") == []
