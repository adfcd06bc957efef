"""SLA warnings and breaches from the sweep, and a customer's rating, reach the receiver as
`sla.warning`, `sla.breached` and `satisfaction.rated`, once each."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from mailtickets.services.sla import sweep
from tests.integration.webhooks.conftest import post_all, webhook_sender
from tests.support.cli import SECRET
from tests.support.helpdesk import CONFIG, make_helpdesk
from tests.support.mail import compose
from tests.support.webhooks import Receiver


def test_sla_and_satisfaction_events(tmp_path: Path, receiver: Receiver) -> None:
    config = CONFIG.replace('name = "Support"\n', 'name = "Support"\nsla = "std"\ncsat = true\n')
    extra = (
        '[[sla]]\nname = "std"\nfirst_response = "1h"\nwarn_at = 0.5\n'
        f'[[webhook]]\nname = "crm"\nurl = "{receiver.url}"\nsecret_env = "SECRET"\n'
        'events = ["sla.warning", "sla.breached", "satisfaction.rated"]\n'
    )
    desk = make_helpdesk(f"sqlite:///{tmp_path / 'mt.db'}", tmp_path, extra, config)
    sender = webhook_sender(desk)
    try:
        opened = desk.deliver(compose())
        assert opened.ticket_id is not None
        for minutes in (31, 30, 1):  # past the warning, past the due time, once more
            desk.clock.advance(timedelta(minutes=minutes))
            sweep.sweep(desk.app.sessions, desk.app.sla, desk.clock.now())
        desk.agent_says(opened.ticket_id, "#resolve\n\nFixed.")
        survey = desk.reply_address(
            opened.ticket_id, "ana@example.com", "customer/satisfaction_request"
        )
        rating = compose(to=survey, subject="Re: How did we do?", body="5\nQuick, thanks.")
        assert desk.deliver(rating, rcpt=(survey,)).outcome == "satisfaction"
        post_all(sender)
        post_all(sender)
    finally:
        sender.close()
        desk.app.engine.dispose()
    assert all(post.signed_with(SECRET) for post in receiver.posts)
    warning, breach, rated = (post.json for post in receiver.posts)
    assert (warning["type"], warning["data"]["clock"]) == ("sla.warning", "first_response")
    assert (breach["type"], breach["data"]["clock"]) == ("sla.breached", "first_response")
    assert breach["data"]["due"] == "2026-11-02T10:00:00+00:00"
    assert rated["type"] == "satisfaction.rated"
    assert (rated["data"]["rating"], rated["data"]["changed"]) == (5, False)
    assert rated["data"]["actor"] == "ana@example.com"
    assert rated["data"]["ticket"]["status"] == "resolved"
