"""A real Dovecot IMAP server for tests, run as a child process with its own config directory.

Each `Dovecot` listens on free ports of 127.0.0.1, keeps its config, state, log, passwd-file
and mail under one temporary directory, and is stopped and started like a real server (the
whole process group, so open IMAP sessions really end). Each test takes fresh users (`add_user`),
hence empty mailboxes. With `oauth2_introspection` (a URL), XOAUTH2 and OAUTHBEARER logins are
checked by Dovecot's `oauth2` passdb, which asks that endpoint whether the token is active and
whose it is (RFC 7662), as it would ask a real provider. Without Dovecot on the machine
the tests skip, except under CI=true, where they fail.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from imapclient import IMAPClient

from mailtickets.config.settings import ImapMailboxSettings, OAuth2Settings
from tests.support.relay import free_port

HOST = "127.0.0.1"
START_TIMEOUT = 15.0

_CONFIG = """
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
protocols = imap
listen = {host}
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
# Tests that check a refused login should not wait the default 2 s for it.
auth_failure_delay = 0
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  separator = /
}}
{oauth2}passdb {{
  driver = passwd-file
  args = {dir}/passwd
{password_mechanisms}}}
userdb {{
  driver = passwd-file
  args = {dir}/passwd
  default_fields = uid=nobody gid=nogroup home={dir}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = {tls_port}
  }}
}}
# Failed logins from an address would delay its next logins by seconds (auth penalty);
# the auth process cannot reach this socket, which turns the penalty off.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
{extra}
"""

# Tokens are checked by the test's introspection endpoint on every login (no auth cache).
_OAUTH2_PASSDB = """passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {dir}/dovecot-oauth2.conf.ext
}}
"""
_OAUTH2_CONFIG = """introspection_mode = post
introspection_url = {url}
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
"""

USERS = 100


def unavailable_reason() -> str | None:
    """Why Dovecot cannot be run here, or None when it can."""
    if shutil.which("dovecot") is None:
        return "dovecot is not installed (apt-get install -y dovecot-imapd)"
    if os.geteuid() != 0:
        return "a throwaway Dovecot needs root to run its mail processes as nobody"
    return None


def require_dovecot() -> None:
    """Skip without Dovecot, except in CI, where every test must run."""
    reason = unavailable_reason()
    if reason and os.environ.get("CI") == "true":
        pytest.fail(reason + " (CI=true: Dovecot tests must run)")
    if reason:
        pytest.skip(reason)


@dataclass(frozen=True)
class User:
    name: str
    password: str


@dataclass
class Dovecot:
    """One Dovecot; `tls=(cert, key)` makes it require TLS (`port` STARTTLS, `tls_port`)."""

    tls: tuple[Path, Path] | None = None
    #: Replaces the capabilities offered after login, e.g. to hide IDLE, MOVE and UIDPLUS.
    capabilities: str | None = None
    #: An RFC 7662 introspection endpoint that validates XOAUTH2 and OAUTHBEARER tokens.
    oauth2_introspection: str | None = None
    port: int = field(default_factory=free_port)
    tls_port: int = 0
    directory: Path = field(init=False)
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    _users: list[User] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        # Not under pytest's tmp_path: its root is private to root, and Dovecot's mail
        # processes run as nobody and must reach their home directories.
        self.directory = Path(tempfile.mkdtemp(prefix="mailtickets-dovecot-"))
        self.directory.chmod(0o755)
        home = self.directory / "home"
        home.mkdir()
        shutil.chown(home, "nobody", "nogroup")
        # Every user is written before the start: Dovecot rereads its passwd-file at most once
        # a second, so a user added later could be refused for a moment.
        self._users = [User(f"user{n}", f"pw-{os.urandom(6).hex()}") for n in range(1, USERS + 1)]
        (self.directory / "passwd").write_text(
            "".join(f"{user.name}:{{PLAIN}}{user.password}::::::\n" for user in self._users)
        )
        if self.tls is not None:
            self.tls_port = free_port()
        if self.oauth2_introspection is not None:
            (self.directory / "dovecot-oauth2.conf.ext").write_text(
                _OAUTH2_CONFIG.format(url=self.oauth2_introspection)
            )
        (self.directory / "dovecot.conf").write_text(self._config())

    def _config(self) -> str:
        if self.tls is None:
            tls = "ssl = no"
        else:
            cert, key = self.tls
            tls = f"ssl = required\nssl_cert = <{cert}\nssl_key = <{key}"
        extra = f"imap_capability = {self.capabilities}" if self.capabilities else ""
        oauth2 = self.oauth2_introspection is not None
        return _CONFIG.format(
            dir=self.directory,
            host=HOST,
            ssl=tls,
            port=self.port,
            tls_port=self.tls_port,
            extra=extra,
            # With the oauth2 passdb, a token is never taken for a password, nor the reverse.
            oauth2=_OAUTH2_PASSDB.format(dir=self.directory) if oauth2 else "",
            password_mechanisms="  mechanisms = plain login\n" if oauth2 else "",
        )

    @property
    def log(self) -> str:
        path = self.directory / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self) -> Dovecot:
        """Start the server and return once it answers on its port."""
        self._process = subprocess.Popen(
            ["dovecot", "-F", "-c", str(self.directory / "dovecot.conf")],
            start_new_session=True,
        )
        while not self._answers():
            try:
                code = self._process.wait(0.02)
            except subprocess.TimeoutExpired:
                continue
            raise AssertionError(f"dovecot exited with {code}:\n{self.log}")
        return self

    def _answers(self) -> bool:
        try:
            with socket.create_connection((HOST, self.port), timeout=START_TIMEOUT):
                return True
        except ConnectionRefusedError:
            return False

    def stop(self) -> None:
        """Stop the server and every process it started, ending open IMAP sessions."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(20)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def add_user(self) -> User:
        """A user nobody has used yet, hence an empty mailbox."""
        if not self._users:
            raise AssertionError(f"this Dovecot has only {USERS} users; start another one")
        return self._users.pop(0)

    def client(self, user: User, ssl_context: ssl.SSLContext | None = None) -> IMAPClient:
        """A second, independent connection, as another mail client would have."""
        client = IMAPClient(HOST, self.port, ssl=False, timeout=30)
        if self.tls is not None:
            client.starttls(ssl_context)
        client.login(user.name, user.password)
        return client

    @contextmanager
    def session(self, user: User, ssl_context: ssl.SSLContext | None = None) -> Iterator[Any]:
        client = self.client(user, ssl_context)
        try:
            yield client
        finally:
            client.logout()

    def mailbox(self, user: User, **changes: Any) -> ImapMailboxSettings:
        """`[[imap]]` settings reading `user`'s INBOX on this server, with `changes`."""
        values: dict[str, Any] = {
            "name": user.name,
            "host": HOST,
            "port": self.port,
            "tls": "none" if self.tls is None else "starttls",
            "username": user.name,
            "password": user.password,
            "oauth2": None,
            "folders": ("INBOX",),
            "queue": None,
            "poll_interval": timedelta(seconds=60),
            "after": "seen",
            "quarantine_folder": None,
        }
        values.update(changes)
        return ImapMailboxSettings(**values)


@contextmanager
def running_dovecot(**options: Any) -> Iterator[Dovecot]:
    """A started Dovecot; one that cannot start skips the test, except under CI=true."""
    require_dovecot()
    server = Dovecot(**options)
    try:
        try:
            server.start()
        except AssertionError as exc:
            if os.environ.get("CI") == "true":
                raise
            pytest.skip(f"Dovecot did not start: {exc}")
        yield server
    finally:
        server.close()


class Counter:
    """A callback that counts its calls; `wait_for(n)` blocks until it was called n times."""

    def __init__(self) -> None:
        self.count = 0
        self._changed = threading.Condition()

    def __call__(self) -> None:
        with self._changed:
            self.count += 1
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self.count >= count, timeout)


class Records(logging.Handler):
    """Keeps log records; `wait_for(test, n)` blocks until n of them pass `test`."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self._changed = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        with self._changed:
            self.records.append(record)
            self._changed.notify_all()

    def matching(self, test: Callable[[logging.LogRecord], bool]) -> list[logging.LogRecord]:
        with self._changed:
            return [record for record in self.records if test(record)]

    def wait_for(
        self, test: Callable[[logging.LogRecord], bool], count: int, timeout: float
    ) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: len(self.matching(test)) >= count, timeout)

    @contextmanager
    def capturing(self, logger: str = "mailtickets") -> Iterator[Records]:
        target = logging.getLogger(logger)
        previous = target.level
        target.addHandler(self)
        target.setLevel(logging.DEBUG)
        try:
            yield self
        finally:
            target.removeHandler(self)
            target.setLevel(previous)


def message(number: int, subject: str | None = None, message_id: str | None = None) -> bytes:
    """A small customer message, CRLF line ends, as a mail client would APPEND it."""
    return (
        f"From: Carol Customer <carol{number}@customer.example>\r\n"
        f"To: support@acme.example\r\n"
        f"Subject: {subject or f'Request {number}'}\r\n"
        f"Message-ID: <{message_id or f'imap-{number}@customer.example'}>\r\n"
        f"Date: Tue, 01 Jul 2025 09:59:00 +0000\r\n"
        f"\r\n"
        f"Printer {number} is on fire.\r\n"
    ).encode()


def config_file(
    directory: Path, *boxes: ImapMailboxSettings, storage: Path | None = None
) -> tuple[Path, dict[str, str]]:
    """A config file with `boxes` as its `[[imap]]` tables, and the environment it needs.

    The database lives in a folder that does not exist, so a command that opens it fails.
    """
    lines = [
        "[database]",
        f'url = "sqlite:///{directory}/absent/mailtickets.db"',
        "[[queue]]",
        'address = "support@acme.example"',
    ]
    if storage is not None:
        lines += ["[storage]", f"dir = {json.dumps(str(storage))}"]
    env: dict[str, str] = {}
    for number, box in enumerate(boxes):
        lines += [
            "[[imap]]",
            f"name = {json.dumps(box.name)}",
            f"host = {json.dumps(box.host)}",
            f"port = {box.port}",
            f"tls = {json.dumps(box.tls)}",
            f"username = {json.dumps(box.username)}",
            f"folders = {json.dumps(list(box.folders))}",
            f"after = {json.dumps(box.after)}",
        ]
        if box.oauth2 is None:
            env[f"IMAP_SECRET_{number}"] = box.password or ""
            lines.append(f'password_env = "IMAP_SECRET_{number}"')
        else:
            lines.append('auth = "oauth2"')
            lines += oauth2_table("imap", box.oauth2, env, f"IMAP_{number}")
    path = directory / "mailtickets.toml"
    path.write_text("\n".join(lines) + "\n")
    return path, env


def oauth2_table(
    parent: str, oauth2: OAuth2Settings, env: dict[str, str], prefix: str
) -> list[str]:
    """The `[<parent>.oauth2]` table for `oauth2`, its secrets put into `env`."""
    lines = [
        f"[{parent}.oauth2]",
        f"flow = {json.dumps(oauth2.flow)}",
        f"token_url = {json.dumps(oauth2.token_url)}",
        f"client_id = {json.dumps(oauth2.client_id)}",
        f"mechanism = {json.dumps(oauth2.mechanism)}",
    ]
    if oauth2.scope is not None:
        lines.append(f"scope = {json.dumps(oauth2.scope)}")
    for key, secret in (
        ("client_secret_env", oauth2.client_secret),
        ("refresh_token_env", oauth2.refresh_token),
    ):
        if secret is not None:
            name = f"{prefix}_{key.removesuffix('_env').upper()}"
            env[name] = secret
            lines.append(f"{key} = {json.dumps(name)}")
    return lines
