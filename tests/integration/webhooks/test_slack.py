"""`format = "slack"` posts what Slack's (and Mattermost's) incoming webhooks accept, checked
against the shape Slack documents (tests/data/slack/incoming_webhook.schema.json), with what
a customer wrote kept as text: `<!channel>` in a subject notifies nobody."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import jsonschema_rs
import pytest

from tests.integration.webhooks.conftest import hooked_helpdesk, post_all, webhook_sender
from tests.support.helpdesk import Helpdesk
from tests.support.mail import compose
from tests.support.webhooks import Receiver

SCHEMA = json.loads(
    (Path(__file__).parents[2] / "data" / "slack" / "incoming_webhook.schema.json").read_text()
)


@pytest.fixture
def slack_desk(tmp_path: Path, receiver: Receiver) -> Iterator[Helpdesk]:
    desk = hooked_helpdesk(tmp_path, receiver, 'format = "slack"\n')
    yield desk
    desk.app.engine.dispose()


def test_slack_messages_have_the_shape_slack_documents(
    slack_desk: Helpdesk, receiver: Receiver
) -> None:
    opened = slack_desk.deliver(
        compose(
            subject="<!channel> printer & <b>fire</b>",
            body="Hello <@U123>,\n\n" + "& " * 3000 + "\n",
        )
    )
    assert opened.ticket_id is not None
    slack_desk.clock.advance(timedelta(minutes=1))
    slack_desk.agent_says(opened.ticket_id, "#priority urgent\n#tag hardware\n\nOn my way.")
    sender = webhook_sender(slack_desk)
    try:
        post_all(sender)
    finally:
        sender.close()

    validator = jsonschema_rs.validator_for(SCHEMA)
    messages = [post.json for post in receiver.posts]
    assert len(messages) == 5  # created, priority, tag, Alice's reply, pending on it
    for message in messages:
        errors = [error.message for error in validator.iter_errors(message)]
        assert errors == [], message
        shown = json.dumps(message)
        assert "<!channel>" not in shown and "<@U123>" not in shown
    created, *others = messages
    assert created["text"] == (
        "New ticket #1 “&lt;!channel&gt; printer &amp; &lt;b&gt;fire&lt;/b&gt;” "
        "from ana@example.com"
    )
    # The customer's words quoted under the headline, cut to fit Slack's section limit.
    section = created["blocks"][0]["text"]["text"]
    assert section.startswith(created["text"] + "\n>Hello &lt;@U123&gt;,")
    assert section.endswith("…")
    # The ticket as it is when the event is first posted.
    assert created["blocks"][1]["elements"][0]["text"] == (
        "support@acme.example · pending · urgent · unassigned"
    )
    assert sorted(m["text"] for m in others) == [
        "#1 “&lt;!channel&gt; printer &amp; &lt;b&gt;fire&lt;/b&gt;” has priority urgent "
        "(was normal)",
        "#1 “&lt;!channel&gt; printer &amp; &lt;b&gt;fire&lt;/b&gt;” is now pending (was open)",
        "#1 “&lt;!channel&gt; printer &amp; &lt;b&gt;fire&lt;/b&gt;” tagged hardware",
        "Agent alice@acme.example replied on #1 “&lt;!channel&gt; printer &amp; "
        "&lt;b&gt;fire&lt;/b&gt;”",
    ]
