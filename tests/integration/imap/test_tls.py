"""TLS to a Dovecot that requires it, with a self-signed certificate made by the test.

The poller is told to trust that certificate through its `ssl_context` seam; without it the
handshake fails and nothing else is tried, so the password never leaves in cleartext.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailtickets.errors import ImapError
from mailtickets.ingest.imap import ImapPoller
from mailtickets.ingest.imap_connect import TLS, SslContextFactory
from tests.support.cli import mailtickets
from tests.support.clock import FrozenClock
from tests.support.dovecot import Dovecot, User, config_file, message, running_dovecot
from tests.support.smtp import NOW, Store, self_signed_certificate


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def dovecot(certificate: tuple[Path, Path]) -> Iterator[Dovecot]:
    with running_dovecot(tls=certificate) as server:
        yield server


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Store]:
    store = Store(sqlite_url)
    yield store
    store.engine.dispose()


def trusting(cert: Path) -> SslContextFactory:
    return lambda: ssl.create_default_context(cafile=str(cert))


def with_one_message(server: Dovecot, cert: Path) -> User:
    user = server.add_user()
    with server.session(user, trusting(cert)()) as imap:
        imap.append("INBOX", message(1))
    return user


def port_for(server: Dovecot, tls: str) -> int:
    return server.tls_port if tls == "implicit" else server.port


@pytest.mark.parametrize("tls", ["implicit", "starttls"])
def test_mail_is_read_over_tls_with_a_trusted_certificate(
    dovecot: Dovecot, store: Store, certificate: tuple[Path, Path], tls: str
) -> None:
    user = with_one_message(dovecot, certificate[0])
    box = dovecot.mailbox(user, tls=tls, port=port_for(dovecot, tls))
    poller = ImapPoller(box, store.sessions, FrozenClock(NOW), ssl_context=trusting(certificate[0]))
    assert poller.poll_once() == 1
    assert [row.message_id for row in store.rows()] == ["imap-1@customer.example"]


@pytest.mark.parametrize("tls", ["implicit", "starttls"])
def test_an_untrusted_certificate_is_an_error_never_a_downgrade(
    dovecot: Dovecot, store: Store, certificate: tuple[Path, Path], tls: str
) -> None:
    user = with_one_message(dovecot, certificate[0])
    box = dovecot.mailbox(user, tls=tls, port=port_for(dovecot, tls))
    poller = ImapPoller(box, store.sessions, FrozenClock(NOW))
    with pytest.raises(ImapError) as raised:
        poller.poll_once()
    assert raised.value.stage == TLS
    assert raised.value.detail.endswith("certificate verify failed: self-signed certificate")
    assert store.rows() == []
    # The server saw the user log in once (to add the message) and never again.
    assert dovecot.log.count(f"Login: user=<{user.name}>") == 1


def test_imap_test_names_the_tls_stage_and_trusts_ssl_cert_file(
    dovecot: Dovecot, certificate: tuple[Path, Path], tmp_path: Path
) -> None:
    user = with_one_message(dovecot, certificate[0])
    config, env = config_file(
        tmp_path, dovecot.mailbox(user, tls="implicit", port=dovecot.tls_port)
    )
    where = f"127.0.0.1:{dovecot.tls_port}"

    refused = mailtickets("--config", str(config), "imap", "test", cwd=tmp_path, env=env)
    assert refused.returncode == 1
    assert refused.stdout == (
        f"{user.name}: FAILED at TLS: handshake with {where} failed: certificate verify "
        "failed: self-signed certificate (check tls (implicit, starttls or none) and the "
        "server's certificate)\n"
    )

    # OpenSSL's own variable is how an operator trusts a private CA.
    env["SSL_CERT_FILE"] = str(certificate[0])
    trusted = mailtickets("--config", str(config), "imap", "test", cwd=tmp_path, env=env)
    assert trusted.returncode == 0, trusted.stdout + trusted.stderr
    assert trusted.stdout == (
        f"{user.name}: ok, {user.name} at {where} (implicit TLS): INBOX has 1 unseen of 1\n"
    )
