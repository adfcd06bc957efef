"""What a webhook carries, whatever the ticket says: a Slack message always in the shape
Slack documents, with nothing a customer wrote read as markup; a signature a receiver can
recompute from the timestamp and the body."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import jsonschema_rs
from hypothesis import given
from hypothesis import strategies as st

from mailtickets.config.webhooks import EVENTS
from mailtickets.outbound.webhook_body import signature, slack_message

SCHEMA = json.loads(
    (Path(__file__).parents[2] / "data" / "slack" / "incoming_webhook.schema.json").read_text()
)
VALIDATOR = jsonschema_rs.validator_for(SCHEMA)

words = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=1000)


@st.composite
def tickets(draw: st.DrawFn) -> dict[str, Any]:
    texts = draw(st.lists(words, min_size=1, max_size=3))
    return {
        "id": draw(st.integers(1, 10**9)),
        "subject": draw(words.filter(str.strip)),
        "queue": "support@acme.example",
        "status": draw(st.sampled_from(["open", "pending", "resolved", "closed"])),
        "priority": "normal",
        "assignee": draw(st.none() | words),
        "messages": [
            {"message_id": f"m{n}@client.example", "new_text": text * 3}
            for n, text in enumerate(texts)
        ],
    }


@given(
    event_type=st.sampled_from(EVENTS),
    ticket=st.none() | tickets(),
    actor=st.none() | words,
    value=words,
)
def test_a_slack_message_always_has_the_documented_shape(
    event_type: str, ticket: dict[str, Any] | None, actor: str | None, value: str
) -> None:
    data = {
        "actor": actor,
        "message_id": "m0@client.example",
        "by": "customer",
        **dict.fromkeys(("status", "previous", "priority", "tag", "reason", "due"), value),
    }
    message = slack_message(event_type, data, ticket)
    assert list(VALIDATOR.iter_errors(message)) == []
    texts = [message["text"], *(b["text"]["text"] for b in message["blocks"] if "text" in b)]
    texts += [e["text"] for b in message["blocks"] for e in b.get("elements", ())]
    for text in texts:  # `<` and `>` only ever arrive as entities: no link, no mention
        assert "<" not in text
        assert ">" not in text.replace("\n>", "\n")


def test_the_signature_is_the_hmac_of_timestamp_dot_body() -> None:
    body = b'{"id":"1","type":"ticket.created","created_at":"2026-11-02T09:00:00+00:00"}'
    expected = hmac.new(b"k" * 32, b"1793610000." + body, hashlib.sha256).hexdigest()
    assert signature(b"k" * 32, 1793610000, body) == f"sha256={expected}"
