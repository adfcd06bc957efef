"""The relay connection's wire: what smtplib leaves to the socket."""

from __future__ import annotations

import socket

from mailtickets.outbound import wire
from tests.support.relay import Relay


def test_the_relay_connection_sends_the_final_dot_without_waiting_for_an_ack(
    relay: Relay,
) -> None:
    # The dot follows the message's last piece in a write of its own, and then the client
    # waits for the answer: with Nagle's algorithm the dot would wait for the relay to
    # acknowledge that piece, which Linux delays by 40 ms, for every message.
    with wire.Smtp("127.0.0.1", relay.port) as connection:
        assert connection.sock is not None
        assert connection.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        connection.ehlo()
        assert (
            connection.sendmail(
                "desk@acme.example", ["ana@example.com"], b"Subject: x\r\n\r\nok\r\n"
            )
            == {}
        )
    assert relay.received[0].recipients == ["ana@example.com"]
