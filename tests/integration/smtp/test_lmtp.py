"""LMTP: one reply per recipient after DATA, one stored message for all of them."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator

import pytest

from mailtickets.errors import DatabaseUnavailable
from mailtickets.ingest.intake import Accepted, Envelope
from tests.support.smtp import Store, message, running

SENDER = "carol@customer.example"


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Store]:
    store = Store(sqlite_url)
    yield store
    store.engine.dispose()


def lmtp_transaction(port: int, recipients: list[str]) -> list[tuple[int, bytes]]:
    """LHLO, MAIL, each RCPT, then DATA if any was taken; every reply, in order."""
    client = smtplib.LMTP("127.0.0.1", port, local_hostname="mta.acme.example")
    assert client.ehlo()[0] == 250  # smtplib's LMTP sends LHLO here
    assert client.mail(SENDER)[0] == 250
    replies = [client.rcpt(recipient) for recipient in recipients]
    taken = sum(1 for code, _ in replies if code == 250)
    replies.append(client.data(message()))
    # smtplib reads the first reply to DATA; LMTP sends one for each recipient taken.
    replies.extend(client.getreply() for _ in range(taken - 1))
    client.quit()
    return replies


def test_each_recipient_gets_its_own_reply_and_the_message_is_stored_once(
    store: Store,
) -> None:
    with running(store.accept, protocol="lmtp") as server:
        replies = lmtp_transaction(
            server.port, ["support@acme.example", "nobody@acme.example", "help+x@acme.example"]
        )
    codes = [code for code, _ in replies]
    # RCPT: taken, refused, taken; DATA: one reply for each recipient taken.
    assert codes == [250, 550, 250, 250, 250]
    assert replies[3] == replies[4] == (250, b"2.0.0 Ok: stored as intake #1")
    [row] = store.rows()
    assert (row.source, row.rcpt_to) == ("lmtp", ["support@acme.example", "help+x@acme.example"])
    # One message for several recipients: the trace names none of them.
    assert row.raw.startswith(
        b"Received: from mta.acme.example ([127.0.0.1])\r\n"
        b"\tby mx.test.example (mailtickets) with LMTP; Tue, 01 Jul 2025 10:00:00 +0000\r\n"
    )


def test_a_failure_to_store_answers_451_for_every_recipient(store: Store) -> None:
    def unavailable(raw: bytes, envelope: Envelope, trace: bytes) -> Accepted:
        raise DatabaseUnavailable("cannot store the message: database is locked")

    with running(unavailable, protocol="lmtp") as server:
        replies = lmtp_transaction(server.port, ["support@acme.example", "billing@acme.example"])
    assert [code for code, _ in replies] == [250, 250, 451, 451]
    assert all(reply.startswith(b"4.3.0 ") for _, reply in replies[2:])


def test_lmtp_refuses_helo_and_ehlo(store: Store) -> None:
    with running(store.accept, protocol="lmtp") as server:
        client = smtplib.SMTP("127.0.0.1", server.port)
        assert client.helo()[0] == 500
        assert client.ehlo()[0] == 500
        client.quit()
