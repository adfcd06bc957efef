"""A relay slow to answer the final dot gets the mail once: the sender waits the 10 minutes
RFC 5321 4.5.3.2.6 asks for, not its command timeout, before taking the mail for lost."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.support.helpdesk import make_helpdesk
from tests.support.mail import compose
from tests.support.relay import Relay


def test_an_answer_to_the_final_dot_slower_than_the_timeout_is_waited_for(
    relay: Relay, tmp_path: Path
) -> None:
    extra = (
        f'[outgoing]\nhost = "127.0.0.1"\nport = {relay.port}\ntls = "none"\n'
        'retry_delay = "10s"\ngive_up_after = "1h"\ntimeout = "1s"\n'
    )
    desk = make_helpdesk(f"sqlite:///{tmp_path / 'mailtickets.db'}", tmp_path, extra)
    try:
        # Three times the command timeout: a sender that gave up at one second would try
        # again, and the relay, which kept the first copy, would deliver two.
        relay.handler.data_delay = 3.0
        desk.deliver(compose(subject="Impressora parada"))
        desk.send_all()
        desk.clock.advance(timedelta(minutes=5))  # past any retry: nothing is left to send
        assert desk.send_all() == 0
        assert [row.status.value for row in desk.outbox()] == ["sent", "sent"]
        assert [row.attempts for row in desk.outbox()] == [1, 1]
        assert sorted(r.recipients[0] for r in relay.received) == [
            "alice@acme.example",
            "ana@example.com",
        ]
    finally:
        desk.app.engine.dispose()
