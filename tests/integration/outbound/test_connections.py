"""The sender uses its relay connections side by side (`[outgoing] connections`): while the
relay has not answered one message, the others go out on the other connections."""

from __future__ import annotations

import asyncio
import threading

from tests.support.helpdesk import Helpdesk
from tests.support.mail import compose
from tests.support.relay import Received, Relay


def test_messages_go_out_side_by_side_while_the_relay_answers_none(
    relayed: Helpdesk, relay: Relay
) -> None:
    desk = relayed
    # The relay keeps every message it is given and answers none until told to.
    relay.handler.hold = threading.Event()
    sender = desk.sender(connections=4)
    try:
        desk.deliver(compose(subject="Impressora parada", sender="ana@example.com"))
        desk.deliver(compose(subject="Sem acesso ao portal", sender="rui@example.com"))
        assert len(desk.outbox()) == 4  # an acknowledgement and a notice for each
        sending = threading.Thread(target=lambda: all(iter(sender.work_once, False)))
        sending.start()

        # With one connection the second message would wait for the first one's answer.
        def all_four_given(received: list[Received]) -> bool:
            return len(received) == 4

        relay.wait_until(all_four_given, timeout=30)
        relay.handler.hold.set()
        sending.join()
        sender.close()  # the sends under way are recorded
        assert [row.status.value for row in desk.outbox()] == ["sent"] * 4
        assert [row.attempts for row in desk.outbox()] == [1] * 4
        assert sorted(r.recipients[0] for r in relay.received) == [
            "alice@acme.example",
            "alice@acme.example",
            "ana@example.com",
            "rui@example.com",
        ]
    finally:
        relay.handler.hold.set()
        sender.close()


def test_mail_queued_while_a_send_is_held_goes_out_on_a_free_connection(
    relayed: Helpdesk, relay: Relay
) -> None:
    desk = relayed
    # The relay sits on Ana's acknowledgement only, as one slow to take one message does.
    relay.handler.hold = threading.Event()
    relay.handler.held_for = frozenset({"ana@example.com"})
    sender = desk.sender(connections=2)
    asyncio.run(sender.start())  # its own thread, as in the daemon
    try:
        desk.deliver(compose(subject="Impressora parada", sender="ana@example.com"))
        sender.wake()
        relay.wait_for(lambda received: received.recipients == ["ana@example.com"])
        # Rui writes while Ana's acknowledgement is still unanswered: his goes out on the
        # other connection, without waiting for the batch Ana's was leased in.
        desk.deliver(compose(subject="Sem acesso ao portal", sender="rui@example.com"))
        sender.wake()
        relay.wait_for(lambda received: received.recipients == ["rui@example.com"], timeout=10)
        assert desk.outbox()[0].status.value == "pending"
    finally:
        relay.handler.hold.set()
        asyncio.run(sender.stop())
    assert [row.status.value for row in desk.outbox()] == ["sent"] * 4
