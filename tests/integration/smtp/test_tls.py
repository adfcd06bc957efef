"""TLS on the listener: STARTTLS, TLS required before MAIL, and TLS from the first byte."""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailtickets.errors import MailticketsError
from tests.support.smtp import Store, message, running, self_signed_certificate

SENDER = "carol@customer.example"


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Store]:
    store = Store(sqlite_url)
    yield store
    store.engine.dispose()


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path)


def trusting(cert: Path) -> ssl.SSLContext:
    """A client context that verifies the listener against the test's own certificate."""
    return ssl.create_default_context(cafile=str(cert))


def read_until_closed(sock: socket.socket) -> bytes:
    received = b""
    try:
        while chunk := sock.recv(4096):
            received += chunk
    except ConnectionResetError:
        pass
    return received


def test_starttls_upgrades_the_session(store: Store, certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    with running(store.accept, tls_cert=cert, tls_key=key) as server:
        client = smtplib.SMTP("127.0.0.1", server.port, local_hostname="client.example")
        client.ehlo()
        assert client.has_extn("starttls")
        assert client.starttls(context=trusting(cert))[0] == 220
        client.ehlo()
        assert not client.has_extn("starttls")
        assert not client.has_extn("auth")  # we take mail, we do not authenticate users
        client.sendmail(SENDER, ["support@acme.example"], message())
        client.quit()
    [row] = store.rows()
    assert row.raw.startswith(
        b"Received: from client.example ([127.0.0.1])\r\n"
        b"\tby mx.test.example (mailtickets) with ESMTPS\r\n"
    )


def test_require_tls_refuses_mail_before_starttls(
    store: Store, certificate: tuple[Path, Path]
) -> None:
    cert, key = certificate
    with running(store.accept, tls_cert=cert, tls_key=key, require_tls=True) as server:
        client = smtplib.SMTP("127.0.0.1", server.port)
        client.ehlo()
        code, reply = client.mail(SENDER)
        assert (code, reply[:6]) == (530, b"5.7.0 ")
        client.starttls(context=trusting(cert))
        client.ehlo()
        client.sendmail(SENDER, ["support@acme.example"], message())
        client.quit()
    assert len(store.rows()) == 1


def test_implicit_tls_speaks_tls_from_the_first_byte(
    store: Store, certificate: tuple[Path, Path]
) -> None:
    cert, key = certificate
    with running(store.accept, tls_cert=cert, tls_key=key, implicit_tls=True) as server:
        client = smtplib.SMTP_SSL(
            "127.0.0.1", server.port, local_hostname="client.example", context=trusting(cert)
        )
        client.ehlo()
        assert not client.has_extn("starttls")
        client.sendmail(SENDER, ["support@acme.example"], message())
        client.quit()

        # A client that does not speak TLS hears no SMTP at all and is hung up on.
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as plain:
            plain.sendall(b"EHLO client.example\r\n")
            assert b"220" not in read_until_closed(plain)
    [row] = store.rows()
    assert b"\tby mx.test.example (mailtickets) with ESMTPS\r\n" in row.raw


def test_an_unreadable_certificate_stops_the_start(store: Store, tmp_path: Path) -> None:
    missing = tmp_path / "missing.pem"
    with (
        pytest.raises(MailticketsError, match=f"cannot load the TLS certificate {missing}"),
        running(store.accept, tls_cert=missing, tls_key=missing),
    ):
        pass
