"""Reports and a customer's history on a known history, made through the real pipeline and
read through the real command line: `report volume|agents|csat` and `contacts show`."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import SECRET, mailtickets
from tests.support.helpdesk import CONFIG, Helpdesk, make_helpdesk
from tests.support.mail import compose

SITE_CONFIG = CONFIG.replace('name = "Support"\n', 'name = "Support"\ncsat = true\n').replace(
    'locale = "pt_BR"\n', 'locale = "pt_BR"\ncsat = true\n'
)


@pytest.fixture
def desk(database_url: str, tmp_path: Path) -> Iterator[Helpdesk]:
    """On SQLite and on PostgreSQL."""
    url = database_url
    (tmp_path / "site.toml").write_text(SITE_CONFIG.format(url=url, directory=tmp_path))
    helpdesk = make_helpdesk(url, tmp_path, config=SITE_CONFIG)
    yield helpdesk
    helpdesk.app.engine.dispose()


def _agent_says(desk: Helpdesk, ticket_id: int, agent: str, body: str) -> str | None:
    return desk.agent_says(ticket_id, body, agent).outcome


def _customer_rates(desk: Helpdesk, ticket_id: int, customer: str, body: str) -> str | None:
    """`customer` answers the rating request they were sent, from their mail client."""
    address = desk.reply_address(ticket_id, customer, "customer/satisfaction_request")
    return desk.deliver(compose(sender=customer, to=address, body=body), rcpt=(address,)).outcome


def _known_history(desk: Helpdesk) -> dict[str, int]:
    """Monday 2 November 2026, 09:00 UTC, then Tuesday."""
    t1 = desk.deliver(compose(sender="ana@example.com")).ticket_id
    t2 = desk.deliver(compose(sender="bia@example.com")).ticket_id
    vendas = ("vendas@acme.example",)
    t3 = desk.deliver(compose(sender="joao@example.com", to=vendas[0]), rcpt=vendas).ticket_id
    assert t1 and t2 and t3
    desk.clock.advance(timedelta(minutes=30))
    assert _agent_says(desk, t1, "alice@acme.example", "#assign me\n#resolve\nDone.") == (
        "agent_reply"
    )
    desk.clock.advance(timedelta(minutes=30))
    assert _agent_says(desk, t2, "alice@acme.example", "#assign me\nTry again.") == "agent_reply"
    assert _customer_rates(desk, t1, "ana@example.com", "5\nQuick!") == "satisfaction"
    desk.clock.advance(timedelta(hours=23))  # Tuesday 09:00
    assert _agent_says(desk, t3, "bruno@acme.example", "#resolver\nFeito.") == "agent_reply"
    assert _customer_rates(desk, t3, "joao@example.com", "ruim") == "satisfaction"
    reply = compose(sender="bia@example.com", subject=f"Re: [ACME #{t2}] Printer on fire")
    assert desk.deliver(reply).outcome == "follow_up"
    return {"t1": t1, "t2": t2, "t3": t3}


def _run(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    config = str(site / "site.toml")
    result = mailtickets("--config", config, *args, cwd=site, env={"SECRET": SECRET})
    assert result.returncode == 0, result.stderr
    return result


def _json(site: Path, *args: str) -> Any:
    return json.loads(_run(site, *args, "--json").stdout)


def test_volume_counts_each_day_and_queue(desk: Helpdesk, tmp_path: Path) -> None:
    _known_history(desk)
    rows = _json(tmp_path, "report", "volume", "--since", "2026-11-01")
    assert [
        (r["date"], r["queue"], r["created"], r["resolved"], r["closed"], r["customer_messages"])
        for r in rows
    ] == [
        ("2026-11-02", "support@acme.example", 2, 1, 0, 3),  # two tickets, Ana's rating
        ("2026-11-02", "vendas@acme.example", 1, 0, 0, 1),
        ("2026-11-03", "support@acme.example", 0, 0, 0, 1),  # Bia's follow-up
        ("2026-11-03", "vendas@acme.example", 0, 1, 0, 1),  # João's rating
    ]
    assert _json(tmp_path, "report", "volume", "--since", "2026-11-03")[0]["date"] == "2026-11-03"


def test_agents_report_replies_speed_resolutions_and_ratings(
    desk: Helpdesk, tmp_path: Path
) -> None:
    _known_history(desk)
    rows = {r["agent"]: r for r in _json(tmp_path, "report", "agents", "--since", "2026-11-01")}
    assert rows["alice@acme.example"] == {
        "agent": "alice@acme.example",
        "name": "Alice",
        "replies": 2,
        "first_responses": 2,
        "median_first_response_minutes": 45.0,
        "resolved": 1,
        "assigned_open": 1,
        "ratings": 1,
        "csat_average": 5.0,
    }
    bruno = rows["bruno@acme.example"]
    assert (bruno["replies"], bruno["median_first_response_minutes"], bruno["resolved"]) == (
        1,
        1440.0,
        1,
    )
    assert (bruno["ratings"], bruno["csat_average"]) == (0, None)  # nobody was assigned


def test_csat_report_per_queue_and_overall_as_json_csv_and_text(
    desk: Helpdesk, tmp_path: Path
) -> None:
    _known_history(desk)
    rows = _json(tmp_path, "report", "csat", "--since", "2026-11-01")
    summary = [
        (r["queue"], r["requests"], r["ratings"], r["average"], r["csat_percent"]) for r in rows
    ]
    assert summary == [
        ("support@acme.example", 1, 1, 5.0, 100.0),
        ("vendas@acme.example", 1, 1, 1.0, 0.0),
        ("all", 2, 2, 3.0, 50.0),
    ]
    assert rows[-1]["response_rate_percent"] == 100.0
    assert [rows[-1][f"rating_{n}"] for n in range(1, 6)] == [1, 0, 0, 0, 1]

    table = list(
        csv.DictReader(
            io.StringIO(_run(tmp_path, "report", "csat", "--since", "2026-11-01", "--csv").stdout)
        )
    )
    assert [(r["queue"], r["average"], r["rating_5"]) for r in table][-1] == ("all", "3.0", "1")
    text = _run(tmp_path, "report", "csat", "--since", "2026-11-01").stdout
    assert "csat_percent" in text.splitlines()[1]
    assert "all" in text.splitlines()[-1]


def test_contacts_show_a_customers_history(desk: Helpdesk, tmp_path: Path) -> None:
    ids = _known_history(desk)
    desk.deliver(compose(sender="Ana Cliente <ana@example.com>", subject="Second problem"))
    ana = _json(tmp_path, "contacts", "show", "ANA@example.com")
    assert (ana["address"], ana["name"], ana["open"]) == ("ana@example.com", "Ana Cliente", 1)
    assert [(t["id"], t["status"], t["rating"]) for t in ana["tickets"]] == [
        (ids["t1"], "resolved", 5),
        (ids["t1"] + 3, "open", None),
    ]
    assert ana["median_first_response_minutes"] == 30.0
    assert ana["average_rating"] == 5.0
    assert [(r["ticket"], r["rating"], r["comment"]) for r in ana["ratings"]] == [
        (ids["t1"], 5, "Quick!")
    ]
    text = _run(tmp_path, "contacts", "show", "ana@example.com").stdout
    assert "2 tickets, 1 open; median first response 30.0 min; average rating 5.0/5" in text

    missing = mailtickets(
        "--config",
        str(tmp_path / "site.toml"),
        "contacts",
        "show",
        "nobody@example.com",
        cwd=tmp_path,
        env={"SECRET": SECRET},
    )
    assert missing.returncode == 1
    assert "no contact nobody@example.com" in missing.stderr
