"""A real, private Postfix for tests: an MTA in front of mailtickets, a relay, a bounce maker.

Each `Postfix` has its own configuration directory, queue, data directory and log file under
one temporary directory (`postfix -c DIR start`, stopped with `postfix -c DIR stop`); the
system's Postfix is neither used nor touched. It listens with smtpd on a free port of
127.0.0.1 and relays for 127.0.0.1 only. `transports` routes domains or addresses
(`transport_maps`): to a `pipe(8)` service declared in `services` ("mailtickets:"), to our
LMTP or SMTP listener ("lmtp:inet:127.0.0.1:2424", "smtp:[127.0.0.1]:2525"), to a test relay.
Everything else goes to `default_transport`, by default `error`: it bounces, so a real DSN
goes back to the sender. What happened to each message is read from its log file and from
`postqueue -j`.

Without Postfix (`apt-get install -y postfix`) or root the tests skip, except under CI=true.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.relay import free_port

HOST = "127.0.0.1"
TIMEOUT = 30.0

# Every daemon unchrooted (the Debian default chroots several): the instance has no copy of
# /etc files in its queue directory. `postlog` writes `maillog_file`.
_MASTER = """\
{host}:{port} inet n - n - - smtpd
pickup    unix  n - n 60   1 pickup
cleanup   unix  n - n -    0 cleanup
qmgr      unix  n - n 300  1 qmgr
rewrite   unix  - - n -    - trivial-rewrite
bounce    unix  - - n -    0 bounce
defer     unix  - - n -    0 bounce
trace     unix  - - n -    0 bounce
verify    unix  - - n -    1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -    - proxymap
smtp      unix  - - n -    - smtp
relay     unix  - - n -    - smtp
showq     unix  n - n -    - showq
error     unix  - - n -    - error
retry     unix  - - n -    - error
discard   unix  - - n -    - discard
lmtp      unix  - - n -    - lmtp
anvil     unix  - - n -    1 anvil
scache    unix  - - n -    1 scache
postlog   unix-dgram n - n - 1 postlogd
{services}
"""


def unavailable_reason() -> str | None:
    """Why a private Postfix cannot run here, or None when it can."""
    if shutil.which("postfix") is None:
        return (
            "postfix is not installed (DEBIAN_FRONTEND=noninteractive apt-get install -y postfix)"
        )
    if os.geteuid() != 0:
        return "a private Postfix instance needs root to start"
    return None


def require_postfix() -> None:
    """Skip without Postfix, except in CI, where every test must run."""
    reason = unavailable_reason()
    if reason and os.environ.get("CI") == "true":
        pytest.fail(reason + " (CI=true: Postfix tests must run)")
    if reason:
        pytest.skip(reason)


@dataclass(frozen=True)
class Queued:
    """A message in the queue (`postqueue -j`): which queue it waits in, and why."""

    queue_id: str
    queue_name: str
    sender: str
    recipients: dict[str, str]  # address -> delay reason ("" when none yet)


@dataclass
class Postfix:
    """One private Postfix; `start()` it, or use `running_postfix()`."""

    #: transport_maps entries: a domain or address -> a transport ("mailtickets:").
    transports: Mapping[str, str] = field(default_factory=dict)
    #: Extra master.cf entries, e.g. a pipe(8) service.
    services: str = ""
    #: Extra or overriding main.cf parameters.
    parameters: Mapping[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    directory: Path = field(init=False)

    def __post_init__(self) -> None:
        # Not under pytest's tmp_path: that is private to root, and Postfix's daemons and
        # pipe commands run as other users.
        self.directory = Path(tempfile.mkdtemp(prefix="mailtickets-postfix-"))
        self.directory.chmod(0o755)
        for name in ("etc", "queue", "data"):
            (self.directory / name).mkdir()
        shutil.chown(self.directory / "data", "postfix")

    @property
    def config_dir(self) -> Path:
        return self.directory / "etc"

    @property
    def log_file(self) -> Path:
        return self.directory / "maillog"

    @property
    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def _main_cf(self) -> str:
        domains = sorted({key.rpartition("@")[2] for key in self.transports})
        table = " ".join(f"{key}={value}" for key, value in self.transports.items())
        parameters = {
            "compatibility_level": "3.6",
            "queue_directory": str(self.directory / "queue"),
            "data_directory": str(self.directory / "data"),
            "maillog_file": str(self.log_file),
            "maillog_file_prefixes": str(self.directory),
            # Its own name in the log, so that its lines are never taken for another's.
            "syslog_name": f"postfix-{self.directory.name}",
            "myhostname": "mx.test.example",
            "mydestination": "",
            "inet_interfaces": "loopback-only",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "smtpd_relay_restrictions": "permit_mynetworks, reject",
            "relay_domains": ", ".join(domains),
            "transport_maps": f"inline:{{ {table} }}" if table else "",
            "default_transport": "error:this test's Postfix delivers nowhere else",
            # Accepted, then bounced with a DSN, as a real MTA does (not refused at RCPT).
            "smtpd_reject_unlisted_recipient": "no",
            "local_transport": "error:no local delivery",
            "alias_maps": "",
            "alias_database": "",
            "smtp_dns_support_level": "disabled",
            "biff": "no",
            "delay_warning_time": "0",
        }
        parameters.update(self.parameters)
        return "".join(f"{key} = {value}\n" for key, value in parameters.items())

    def start(self) -> Postfix:
        """Write the configuration, start the instance and return once smtpd answers."""
        (self.config_dir / "main.cf").write_text(self._main_cf())
        (self.config_dir / "master.cf").write_text(
            _MASTER.format(host=HOST, port=self.port, services=self.services)
        )
        started = self.postfix("start")
        if started.returncode != 0:
            raise AssertionError(f"postfix did not start:\n{started.stderr}\n{self.log}")
        if not _poll(self._answers):
            raise AssertionError(f"postfix smtpd does not answer on {self.port}:\n{self.log}")
        return self

    def _answers(self) -> bool:
        try:
            with socket.create_connection((HOST, self.port), timeout=TIMEOUT):
                return True
        except ConnectionRefusedError:
            return False

    def postfix(self, *command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["postfix", "-c", str(self.config_dir), *command],
            capture_output=True,
            text=True,
            timeout=TIMEOUT * 2,
            check=False,
        )

    def _master_pid(self) -> int | None:
        with suppress(FileNotFoundError, ValueError):
            return int((self.directory / "queue" / "pid" / "master.pid").read_text().split()[0])
        return None

    def stop(self) -> None:
        """`postfix stop`, then wait for its master process to be gone."""
        pid = self._master_pid()
        if pid is None:
            return
        try:
            # The master is not our child: a pidfd is how to wait for its end.
            handle = os.pidfd_open(pid)
        except ProcessLookupError:
            return
        try:
            self.postfix("stop")
            if not select.select([handle], [], [], TIMEOUT)[0]:
                os.kill(pid, signal.SIGKILL)
        finally:
            os.close(handle)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    # What tests do with it.

    def send(self, mail_from: str, recipients: list[str], raw: bytes) -> str:
        """Submit a message over SMTP; returns its Postfix queue id."""
        with smtplib.SMTP(HOST, self.port, timeout=TIMEOUT) as client:
            client.ehlo("client.test.example")
            client.mail(mail_from)
            for recipient in recipients:
                code, answer = client.rcpt(recipient)
                assert code == 250, f"RCPT {recipient}: {code} {answer!r}"
            code, answer = client.data(raw)
        assert code == 250, f"DATA: {code} {answer!r}"
        found = re.search(rb"queued as (\w+)", answer)
        assert found, answer
        return found[1].decode()

    def queue(self) -> dict[str, Queued]:
        """The messages in the queue, by queue id (`postqueue -j`)."""
        listed = subprocess.run(
            ["postqueue", "-c", str(self.config_dir), "-j"],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=True,
        )
        queued: dict[str, Queued] = {}
        for line in listed.stdout.splitlines():
            item: dict[str, Any] = json.loads(line)
            queued[item["queue_id"]] = Queued(
                item["queue_id"],
                item["queue_name"],
                item["sender"],
                {r["address"]: r.get("delay_reason", "") for r in item["recipients"]},
            )
        return queued

    def settled_queue(self, condition: Callable[[dict[str, Queued]], bool]) -> dict[str, Queued]:
        """The queue once `condition` holds of it: Postfix logs a delivery's status before
        its queue manager moves the file (active to deferred, or removed)."""
        seen: list[dict[str, Queued]] = []

        def holds() -> bool:
            seen[:] = [self.queue()]
            return condition(seen[0])

        if not _poll(holds):
            raise AssertionError(f"the Postfix queue did not settle: {seen[0]}")
        return seen[0]

    def flush(self) -> None:
        """`postqueue -f`: try every deferred message again now."""
        subprocess.run(
            ["postqueue", "-c", str(self.config_dir), "-f"],
            capture_output=True,
            timeout=TIMEOUT,
            check=True,
        )

    def wait_for_log(self, pattern: str, timeout: float = TIMEOUT, after: int = 0) -> re.Match[str]:
        """The first match of `pattern` in the log (from offset `after`), once it is written.

        Postfix reports only through its log, so this reads it again until the line is
        there; the loop ends as soon as it is.
        """
        compiled = re.compile(pattern)
        found: list[re.Match[str]] = []

        def logged() -> bool:
            match = compiled.search(self.log, after)
            found.extend([match] if match else [])
            return match is not None

        if not _poll(logged, timeout):
            raise AssertionError(f"{pattern!r} not in the Postfix log:\n{self.log[after:]}")
        return found[0]

    def delivery(self, queue_id: str, status: str, after: int = 0) -> re.Match[str]:
        """The log line of `queue_id`'s delivery attempt ending in `status` (sent, deferred,
        bounced), with its groups `relay`, `dsn` and `reason`."""
        return self.wait_for_log(
            rf"{queue_id}: to=<[^>]*>, .*?relay=(?P<relay>[^,]+), .*?dsn=(?P<dsn>[\d.]+), "
            rf"status={status} \((?P<reason>.*)\)",
            after=after,
        )


def _poll(condition: Callable[[], bool], timeout: float = TIMEOUT) -> bool:
    """Whether `condition` came true within `timeout`, asked every 50 ms: Postfix tells what
    it did only through its log and its queue, which cannot be waited on."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@contextmanager
def running_postfix(**options: Any) -> Iterator[Postfix]:
    """A started private Postfix, stopped and removed afterwards."""
    require_postfix()
    server = Postfix(**options)
    try:
        server.start()
        yield server
    finally:
        server.close()
