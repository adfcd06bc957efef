"""250 means stored: failures answer 451 and store nothing; load and shutdown lose nothing."""

from __future__ import annotations

import smtplib
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from mailtickets.db.base import session_factory
from mailtickets.ingest import intake
from mailtickets.ingest.intake import Accepted, Envelope
from tests.support.smtp import NOW, Store, message, running

SENDER = "carol@customer.example"
QUEUE = "support@acme.example"


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Store]:
    store = Store(sqlite_url)
    yield store
    store.engine.dispose()


def deliver(port: int, raw: bytes) -> tuple[int, bytes]:
    client = smtplib.SMTP("127.0.0.1", port, timeout=60)
    client.ehlo()
    client.mail(SENDER)
    client.rcpt(QUEUE)
    reply = client.data(raw)
    client.quit()
    return reply


def test_a_read_only_database_answers_451(store: Store, tmp_path: Path) -> None:
    # The same file, opened so that every write fails the way a full or broken disk does.
    read_only = create_engine(f"sqlite:///file:{tmp_path / 'mailtickets.db'}?mode=ro&uri=true")
    sessions = session_factory(read_only)

    def accept(raw: bytes, envelope: Envelope, trace: bytes) -> Accepted:
        return intake.accept(sessions, raw, envelope, NOW, trace)

    with running(accept) as server:
        code, reply = deliver(server.port, message())
    read_only.dispose()
    assert (code, reply[:6]) == (451, b"4.3.0 ")
    assert store.rows() == []


def test_an_unexpected_failure_answers_451_and_the_retry_is_stored_once(store: Store) -> None:
    with store.engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TRIGGER refuse BEFORE INSERT ON inbound_message "
                "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
            )
        )
    with running(store.accept) as server:
        code, reply = deliver(server.port, message())
        assert (code, reply[:6]) == (451, b"4.3.0 ")
        assert store.rows() == []

        with store.engine.begin() as connection:
            connection.execute(text("DROP TRIGGER refuse"))
        # The sending MTA retries later, with a new trace: one message, stored once.
        assert deliver(server.port, message())[0] == 250
        assert deliver(server.port, message())[0] == 250
    assert len(store.rows()) == 1


def test_fifty_clients_sending_twenty_messages_each_store_a_thousand_rows(store: Store) -> None:
    clients, per_client = 50, 20
    woken: list[None] = []

    def client(number: int) -> list[int]:
        smtp = smtplib.SMTP("127.0.0.1", server.port, timeout=120)
        smtp.ehlo()
        codes = []
        for sequence in range(per_client):
            raw = message(message_id=f"c{number}-m{sequence}@customer.example")
            smtp.mail(SENDER)
            smtp.rcpt(QUEUE)
            codes.append(smtp.data(raw)[0])
        smtp.quit()
        return codes

    with (
        # Fifty clients on one address, as fifty sessions of an MTA in front would be.
        running(
            store.accept, on_accepted=lambda: woken.append(None), max_connections_per_client=clients
        ) as server,
        ThreadPoolExecutor(clients) as pool,
    ):
        codes = [code for codes in pool.map(client, range(clients)) for code in codes]
    assert codes == [250] * clients * per_client
    rows = store.rows()
    assert len(rows) == clients * per_client
    assert len({row.message_id for row in rows}) == clients * per_client
    assert len(woken) == clients * per_client


def test_stopping_lets_a_message_in_data_be_stored_and_answered(store: Store) -> None:
    storing, release = threading.Event(), threading.Event()

    def slow_accept(raw: bytes, envelope: Envelope, trace: bytes) -> Accepted:
        storing.set()
        assert release.wait(30)
        return store.accept(raw, envelope, trace)

    with running(slow_accept) as server, ThreadPoolExecutor(1) as pool:
        port = server.port
        idle = smtplib.SMTP("127.0.0.1", port, timeout=30)
        sending = pool.submit(deliver, port, message())
        assert storing.wait(30)

        server.begin_stop()
        # No new connections while the message in DATA is being stored ...
        with pytest.raises(ConnectionRefusedError):
            smtplib.SMTP("127.0.0.1", port, timeout=30)
        release.set()
        # ... which is answered 250, and only then is everyone else hung up on.
        assert sending.result(30)[0] == 250
        server.join()
        assert idle.getreply()[0] == 421
        idle.close()
    assert len(store.rows()) == 1
