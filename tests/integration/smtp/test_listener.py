"""The SMTP listener as a sending client sees it, and what it stores in the intake."""

from __future__ import annotations

import hashlib
import os
import shutil
import smtplib
import subprocess
from collections.abc import Iterator
from datetime import timedelta

import pytest

from mailtickets.errors import MailticketsError
from tests.support.smtp import RunningListener, Store, message, running

CLIENT = "client.example"
SENDER = "carol@customer.example"


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Store]:
    store = Store(sqlite_url)
    yield store
    store.engine.dispose()


@pytest.fixture
def listener(store: Store) -> Iterator[RunningListener]:
    with running(store.accept) as server:
        yield server


def connect(server: RunningListener, source: str = "127.0.0.1") -> smtplib.SMTP:
    client = smtplib.SMTP(
        "127.0.0.1", server.port, local_hostname=CLIENT, timeout=30, source_address=(source, 0)
    )
    client.ehlo()
    return client


def send(client: smtplib.SMTP, raw: bytes, *recipients: str) -> tuple[int, bytes]:
    """MAIL, RCPT for each recipient (each must be taken), DATA; the reply to DATA."""
    assert client.mail(SENDER)[0] == 250
    for recipient in recipients:
        assert client.rcpt(recipient)[0] == 250, recipient
    return client.data(raw)


def send_raw_data(client: smtplib.SMTP, data: bytes, recipient: str) -> tuple[int, bytes]:
    """A transaction whose DATA bytes go out exactly as given, terminator included."""
    assert client.mail(SENDER)[0] == 250
    assert client.rcpt(recipient)[0] == 250
    assert client.docmd("DATA")[0] == 354
    client.send(data)
    return client.getreply()


def test_a_message_is_stored_once_with_its_envelope_and_trace(store: Store) -> None:
    woken: list[None] = []
    raw = message()
    with running(store.accept, on_accepted=lambda: woken.append(None)) as server:
        client = connect(server)
        code, reply = send(client, raw, "support@acme.example")
        assert (code, reply) == (250, b"2.0.0 Ok: stored as intake #1")
        # The acknowledgement came after the commit: the row is there and the worker was woken.
        assert len(store.rows()) == 1
        assert woken == [None]

        # The sending MTA did not see our 250 and retries: still one row.
        assert send(client, raw, "support@acme.example") == (
            250,
            b"2.0.0 Ok: already stored as intake #1",
        )
        client.quit()

    [row] = store.rows()
    assert (row.source, row.mail_from, row.rcpt_to) == ("smtp", SENDER, ["support@acme.example"])
    assert row.message_id == "m1@customer.example"
    assert row.raw == (
        b"Received: from client.example ([127.0.0.1])\r\n"
        b"\tby mx.test.example (mailtickets) with ESMTP\r\n"
        b"\tfor <support@acme.example>; Tue, 01 Jul 2025 10:00:00 +0000\r\n" + raw
    )
    # The trace is ours, not the sender's: it is not part of what identifies the message.
    assert row.sha256 == hashlib.sha256(raw).hexdigest()


def test_swaks_delivers_a_message(store: Store, listener: RunningListener) -> None:
    swaks = shutil.which("swaks")
    if swaks is None:
        if os.environ.get("CI") == "true":
            pytest.fail("swaks is not installed (CI=true: every test must run)")
        pytest.skip("swaks is not installed (apt-get install -y swaks)")
    result = subprocess.run(
        [
            swaks, "--server", f"127.0.0.1:{listener.port}", "--helo", "swaks.example",
            "--from", SENDER, "--to", "help@acme.example",
            "--header", "Subject: Sent with swaks", "--body", "Hello from swaks.",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "<-  250 2.0.0 Ok: stored as intake #1" in result.stdout
    [row] = store.rows()
    assert row.rcpt_to == ["help@acme.example"]
    assert b"Subject: Sent with swaks" in row.raw
    assert row.raw.startswith(b"Received: from swaks.example ([127.0.0.1])\r\n")


@pytest.mark.parametrize(
    "recipient",
    [
        "<nobody@acme.example>",  # our domain, no such queue
        "<support@other.example>",  # relaying to another domain
        "<support%other.example@acme.example>",  # the % hack
        "<other.example!support@acme.example>",  # a bang path
        "<@relay.example:support@acme.example>",  # a source route ending at our queue
        "<@a.example,@b.example:x@y.example>",  # a source route elsewhere
        "<support+%hack@acme.example>",  # the % hack in a plus tag
        '<"support x"@acme.example>',  # a quoted local part that is not a queue
    ],
)
def test_recipients_that_are_not_our_queues_are_refused(
    store: Store, listener: RunningListener, recipient: str
) -> None:
    client = connect(listener)
    assert client.mail(SENDER)[0] == 250
    code, reply = client.docmd("RCPT", f"TO:{recipient}")
    assert code == 550
    assert reply.startswith((b"5.1.1 ", b"5.7.1 "))
    assert client.docmd("DATA")[0] == 503  # no recipient was taken
    client.quit()
    assert store.rows() == []


def test_queue_addresses_aliases_and_plus_addresses_are_taken(
    store: Store, listener: RunningListener
) -> None:
    recipients = [
        "support@acme.example",
        "SUPPORT@Acme.Example",
        "help@acme.example",
        "support+a1b2c3@acme.example",
        "help+x@ACME.EXAMPLE",
        "billing@acme.example",
    ]
    client = connect(listener)
    assert send(client, message(), *recipients)[0] == 250
    client.quit()
    [row] = store.rows()
    assert row.rcpt_to == recipients
    assert b"\tby mx.test.example (mailtickets) with ESMTP; Tue, 01 Jul 2025" in row.raw


def test_too_many_recipients_are_answered_452(store: Store) -> None:
    with running(store.accept, max_recipients=2) as server:
        client = connect(server)
        assert client.mail(SENDER)[0] == 250
        assert client.rcpt("support@acme.example")[0] == 250
        assert client.rcpt("billing@acme.example")[0] == 250
        assert client.rcpt("help@acme.example") == (452, b"4.5.3 Too many recipients")
        assert client.data(message())[0] == 250
        client.quit()
    [row] = store.rows()
    assert row.rcpt_to == ["support@acme.example", "billing@acme.example"]


def test_oversized_messages_are_refused_with_552(store: Store) -> None:
    limit = 2000
    small = message(message_id="small@customer.example")
    large = message(message_id="large@customer.example") + (b"x" * 76 + b"\r\n") * 40
    assert len(small) < limit < len(large)
    with running(store.accept, max_message_size=limit) as server:
        client = connect(server)
        assert client.has_extn("size")
        assert client.esmtp_features["size"] == str(limit)
        # Announced too large with SIZE=: refused before any data is sent.
        code, reply = client.mail(SENDER, [f"SIZE={limit + 1}"])
        assert (code, reply[:6]) == (552, b"5.3.4 ")
        client.rset()
        # Not announced: refused after DATA.
        code, reply = send(client, large, "support@acme.example")
        assert (code, reply[:6]) == (552, b"5.3.4 ")
        # The session goes on: a message within the limit is taken.
        assert send(client, small, "support@acme.example")[0] == 250
        client.quit()
    assert [row.message_id for row in store.rows()] == ["small@customer.example"]


def test_a_bare_lf_dot_does_not_end_the_data(store: Store, listener: RunningListener) -> None:
    # Only CRLF.CRLF ends DATA (RFC 5321 4.1.1.4): reading LF.LF as the end would let one
    # message smuggle a second one past us ("SMTP smuggling").
    content = b"Subject: bare LF\nMessage-ID: <lf@customer.example>\n\nline\n.\nMAIL FROM:<x@y>\r\n"
    client = connect(listener)
    assert send_raw_data(client, content + b".\r\n", "support@acme.example")[0] == 250
    client.quit()
    [row] = store.rows()
    assert row.raw.endswith(b"\r\n" + content)


def test_8bit_data_without_8bitmime_is_stored_byte_for_byte(
    store: Store, listener: RunningListener
) -> None:
    raw = (
        b"Subject: caf\xc3\xa9 \xe9t\xe9\r\nMessage-ID: <8bit@customer.example>\r\n\r\n"
        b"Ol\xe1, \xff\xfe bytes in no charset at all.\r\n"
    )
    client = connect(listener)
    assert client.has_extn("8bitmime")
    assert send(client, raw, "support@acme.example")[0] == 250  # no BODY=8BITMIME given
    client.quit()
    [row] = store.rows()
    assert row.raw.endswith(b"\r\n" + raw)


def test_lines_longer_than_rfc_5321_allows_are_stored_as_received(
    store: Store, listener: RunningListener
) -> None:
    # Real clients send unfolded subjects and unwrapped paragraphs; Postfix keeps them.
    long_mail = (
        b"Subject: " + b"s" * 10_000 + b"\r\nMessage-ID: <long@customer.example>\r\n\r\n"
        + b"b" * 5_000 + b"\r\n"
    )  # fmt: skip
    client = connect(listener)
    assert send_raw_data(client, long_mail + b".\r\n", "support@acme.example")[0] == 250
    client.quit()
    [row] = store.rows()
    assert row.raw.endswith(b"\r\n" + long_mail)


def test_lines_beyond_max_line_length_refuse_the_message_for_good(store: Store) -> None:
    longest = b"Subject: longest\r\nMessage-ID: <2000@customer.example>\r\n\r\n" + b"a" * 1998
    too_long = b"Subject: too long\r\nMessage-ID: <2001@customer.example>\r\n\r\n" + b"a" * 1999
    with running(store.accept, max_line_length=2000) as server:
        client = connect(server)
        code, reply = send_raw_data(client, too_long + b"\r\n.\r\n", "support@acme.example")
        assert (code, reply) == (552, b"5.3.4 Message has a line longer than 2000 bytes")
        assert send_raw_data(client, longest + b"\r\n.\r\n", "support@acme.example")[0] == 250
        client.quit()
    assert [row.message_id for row in store.rows()] == ["2000@customer.example"]


def test_bounces_with_a_null_sender_are_taken(store: Store, listener: RunningListener) -> None:
    client = connect(listener)
    assert client.docmd("MAIL", "FROM:<>")[0] == 250
    assert client.rcpt("support@acme.example")[0] == 250
    assert client.data(message(subject="Undeliverable"))[0] == 250
    client.quit()
    [row] = store.rows()
    assert row.mail_from == ""  # the null return path, which marks robots' mail


def test_a_client_dropping_mid_data_stores_nothing(store: Store, listener: RunningListener) -> None:
    dropping = connect(listener)
    assert dropping.mail(SENDER)[0] == 250
    assert dropping.rcpt("support@acme.example")[0] == 250
    assert dropping.docmd("DATA")[0] == 354
    dropping.send(message(message_id="half@customer.example")[:200])
    dropping.close()

    other = connect(listener)
    assert send(other, message(message_id="whole@customer.example"), "help@acme.example")[0] == 250
    other.quit()
    assert [row.message_id for row in store.rows()] == ["whole@customer.example"]


def test_connections_beyond_the_limit_are_refused_with_421(store: Store) -> None:
    with running(store.accept, max_connections=2) as server:
        first, second = connect(server), connect(server)
        with pytest.raises(smtplib.SMTPConnectError) as refused:
            smtplib.SMTP("127.0.0.1", server.port, timeout=30)
        assert refused.value.smtp_code == 421
        assert refused.value.smtp_error == b"4.7.0 Too many connections, try again later"
        # A session that ends frees its place.
        first.quit()
        third = connect(server)
        assert send(third, message(), "support@acme.example")[0] == 250
        third.quit()
        second.quit()
    assert len(store.rows()) == 1


def test_an_idle_client_is_told_and_disconnected(store: Store) -> None:
    with running(store.accept, idle_timeout=timedelta(seconds=0.3)) as server:
        client = connect(server)
        assert client.mail(SENDER)[0] == 250
        assert client.getreply() == (421, b"4.4.2 Timeout exceeded, closing connection")
        client.close()


def test_a_client_silent_before_mail_gets_the_shorter_greeting_timeout(store: Store) -> None:
    # The idle timeout of five minutes would hold the session; the greeting timeout ends it.
    with running(store.accept, greeting_timeout=timedelta(seconds=0.3)) as server:
        client = smtplib.SMTP("127.0.0.1", server.port, timeout=30)
        assert client.getreply() == (421, b"4.4.2 Timeout exceeded, closing connection")
        client.close()
        # Bytes that never make a command do not count as activity either.
        dribbling = smtplib.SMTP("127.0.0.1", server.port, timeout=30)
        dribbling.send(b"EH")
        assert dribbling.getreply() == (421, b"4.4.2 Timeout exceeded, closing connection")
        dribbling.close()


def test_one_client_address_cannot_take_every_connection(store: Store) -> None:
    with running(store.accept, max_connections_per_client=2) as server:
        held = [connect(server), connect(server)]
        with pytest.raises(smtplib.SMTPConnectError) as refused:
            smtplib.SMTP("127.0.0.1", server.port, timeout=30)
        assert refused.value.smtp_code == 421
        assert refused.value.smtp_error == (
            b"4.7.0 Too many connections from 127.0.0.1, try again later"
        )
        # Another address is served while the first one holds its share.
        other = connect(server, source="127.0.0.2")
        assert send(other, message(), "support@acme.example")[0] == 250
        other.quit()
        for client in held:
            client.quit()
    [row] = store.rows()
    assert row.raw.startswith(b"Received: from client.example ([127.0.0.2])\r\n")


def test_a_nul_in_the_reverse_path_is_refused_not_removed(
    store: Store, listener: RunningListener
) -> None:
    client = connect(listener)
    assert client.docmd("MAIL FROM:", "<carol\x00@customer.example>") == (
        553,
        b"5.1.7 Sender address rejected: it contains a control character",
    )
    assert client.docmd("RCPT TO:", "<support@acme.example>")[0] == 503
    assert send(client, message(), "support@acme.example")[0] == 250
    client.quit()
    [row] = store.rows()
    assert row.mail_from == SENDER


def test_the_trace_keeps_a_forged_helo_from_changing_the_header(
    store: Store, listener: RunningListener
) -> None:
    client = smtplib.SMTP("127.0.0.1", listener.port, timeout=30)
    assert client.docmd("HELO", "evil (forged); Received: x")[0] == 250
    assert send(client, message(), "support@acme.example")[0] == 250
    client.quit()
    [row] = store.rows()
    assert row.raw.startswith(
        b"Received: from evil??forged???Received:?x ([127.0.0.1])\r\n"
        b"\tby mx.test.example (mailtickets) with SMTP\r\n"
    )


def test_a_port_in_use_is_reported_by_name(store: Store, listener: RunningListener) -> None:
    taken = listener.port
    with (
        pytest.raises(MailticketsError, match=f"SMTP listener on 127.0.0.1:{taken}: cannot listen"),
        running(store.accept, port=taken),
    ):
        pass
