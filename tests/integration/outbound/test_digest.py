"""The managers' digest: the week's volume, SLA compliance and CSAT, and a chart of the
daily volume drawn inline in the HTML part, through a real relay."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from mailtickets.services import digest, reports
from mailtickets.services.sla import sweep
from tests.support.helpdesk import CONFIG, Helpdesk, make_helpdesk
from tests.support.mail import compose
from tests.support.relay import Relay

SITE = CONFIG.replace('name = "Support"\n', 'name = "Support"\nsla = "std"\ncsat = true\n')
EXTRA = """
[[agent]]
address = "carla@acme.example"
name = "Carla"
role = "manager"
[[sla]]
name = "std"
first_response = "1h"
"""


@pytest.fixture
def desk(relay: Relay, tmp_path: Path) -> Iterator[Helpdesk]:
    extra = EXTRA + f'[outgoing]\nhost = "127.0.0.1"\nport = {relay.port}\ntls = "none"\n'
    helpdesk = make_helpdesk(f"sqlite:///{tmp_path / 'mailtickets.db'}", tmp_path, extra, SITE)
    yield helpdesk
    helpdesk.app.engine.dispose()


def _week(desk: Helpdesk) -> None:
    """Four tickets on Monday 2 November; two answered in time and resolved, rated 5 and 2
    by their customers; two never answered."""
    customers = [f"c{n}@example.com" for n in range(4)]
    ids = [desk.deliver(compose(sender=customer)).ticket_id for customer in customers]
    desk.clock.advance(timedelta(minutes=20))
    for ticket_id, customer, score in zip(ids[:2], customers[:2], ("5", "2"), strict=True):
        assert ticket_id is not None
        assert desk.agent_says(ticket_id, "#resolve\nFixed.").outcome == "agent_reply"
        # The customer answers the rating request from their mail client.
        survey = desk.reply_address(ticket_id, customer, "customer/satisfaction_request")
        rated = desk.deliver(compose(sender=customer, to=survey, body=score), rcpt=(survey,))
        assert rated.outcome == "satisfaction"
    desk.clock.advance(timedelta(hours=2))
    assert sweep.sweep(desk.app.sessions, desk.app.sla, desk.clock.now()) == 2
    desk.clock.advance(timedelta(days=1))
    desk.send_all()


def _digest(relay: Relay) -> EmailMessage:
    (received,) = [r for r in relay.received if r.recipients == ["carla@acme.example"]]
    return received.message


def test_the_digest_gives_the_weeks_figures_and_an_inline_chart(
    desk: Helpdesk, relay: Relay
) -> None:
    _week(desk)
    relay.received.clear()
    assert digest.digest(desk.app.sessions, desk.app.sla, desk.clock.now()) == 1
    desk.send_all()
    mail = _digest(relay)

    text = mail.get_body(("plain",)).get_content()
    assert "since 2026-10-27: 4 new, 2 resolved" in text
    assert "within the SLA:           50.0%" in text  # two of four breached their first hour
    assert "satisfaction (CSAT):      50.0% satisfied, average 3.5/5 (2 ratings)" in text

    html_part = mail.get_body(("html",))
    assert html_part is not None
    html = html_part.get_content()
    assert '<img src="cid:volume.chart@mailtickets"' in html
    related = next(p for p in mail.walk() if p.get_content_type() == "multipart/related")
    (image,) = [p for p in related.iter_parts() if p.get_content_type() == "image/png"]
    assert image["Content-ID"] == "<volume.chart@mailtickets>"
    assert image.get_content_disposition() == "inline"
    png = image.get_content()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) > 2000  # bars, axes and legend, not an empty frame


def test_the_chart_follows_the_daily_volume(desk: Helpdesk) -> None:
    _week(desk)
    with desk.app.sessions() as session:
        chart = reports.volume_chart(session, desk.clock.now())
    assert chart["labels"][-2:] == ["11-02", "11-03"]
    assert len(chart["labels"]) == 14
    assert chart["series"]["created"][-2:] == [4, 0]
    assert chart["series"]["resolved"][-2:] == [2, 0]
