"""A real `mailtickets run` for measurements: its site, its relay sink, its clients.

The daemon is the test suite's (`tests.support.daemon.Daemon`), so is the relay
(`tests.support.relay.Relay`); what this adds is what a measurement needs around them: a site
config with SMTP in and the relay out, concurrent SMTP clients, a wait for the moment the work
is done, and the daemon's peak RSS.
"""

from __future__ import annotations

import smtplib
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text

from bench.corpus import AGENT, QUEUE, SUBJECT_PREFIX, Item
from tests.support.cli import mailtickets
from tests.support.daemon import READY_LINE, Daemon
from tests.support.relay import Relay, free_port

SECRET = {"BENCH_SECRET": "bench-signing-key-0123456789abcdef"}
POLL_SECONDS = 0.02
#: The agents of the site: the mail they get is notices, not mail to customers.
AGENTS = frozenset({AGENT, "bruno@acme.example"})

_CONFIG = """
[database]
url = "{url}"
[storage]
dir = "{directory}/var"
[tickets]
subject_prefix = "{prefix}"
secret_env = "BENCH_SECRET"
# The corpus's hour of mail arrives in seconds from addresses new to the site: the flood
# limits (acknowledgements, agents' notices) are not what is measured.
max_acknowledgements_per_hour = 1000
[ingest]
max_attachment_size = "30MiB"
[outgoing]
host = "127.0.0.1"
port = {relay_port}
tls = "none"
# Agents' notices carry every file, the memory figure's 25 MB one too: forwarding it counts.
max_attachments_size = "40MB"
[notifications]
flood_threshold = 100000
[[queue]]
address = "{queue}"
[[agent]]
address = "alice@acme.example"
name = "Alice"
role = "manager"
[[agent]]
address = "bruno@acme.example"
name = "Bruno"
[[smtp]]
host = "127.0.0.1"
port = {smtp_port}
max_message_size = "40MiB"
max_connections = 200
max_connections_per_client = 200
"""


@dataclass
class Site:
    directory: Path
    url: str
    config: Path
    smtp_port: int
    relay: Relay
    env: dict[str, str]
    daemon: Daemon | None = None
    #: When the daemon was launched (time.perf_counter()).
    launched: float = 0.0

    def cli(self, *args: str, timeout: float = 600) -> str:
        """Run `mailtickets ARGS` against this site; its stdout."""
        done = mailtickets(
            "--config", str(self.config), *args, cwd=self.directory, env=self.env, timeout=timeout
        )
        if done.returncode != 0:
            raise RuntimeError(f"mailtickets {' '.join(args)} failed: {done.stderr}")
        return done.stdout

    def peak_rss_mb(self) -> float:
        """The daemon's peak resident set so far (VmHWM), in MiB."""
        return self._status_mb("VmHWM:")

    def rss_mb(self) -> float:
        """The daemon's resident set now (VmRSS), in MiB."""
        return self._status_mb("VmRSS:")

    def _status_mb(self, field: str) -> float:
        assert self.daemon is not None
        status = Path(f"/proc/{self.daemon.process.pid}/status").read_text()
        line = next(line for line in status.splitlines() if line.startswith(field))
        return int(line.split()[1]) / 1024


@contextmanager
def site(
    directory: Path,
    url: str,
    extra: str = "",
    env: Mapping[str, str] | None = None,
    run: bool = True,
    relay: Relay | None = None,
) -> Iterator[Site]:
    """A migrated site on `url` (config `extra` appended, variables `env` set) with a relay
    sink of its own, or `relay` (which its owner starts and stops: several instances of one
    database share one); with `run`, its daemon is running."""
    directory.mkdir(parents=True, exist_ok=True)
    own_relay = relay is None
    relay = relay or Relay().up()
    smtp_port = free_port()
    config = directory / "site.toml"
    config.write_text(
        _CONFIG.format(
            url=url,
            directory=directory,
            prefix=SUBJECT_PREFIX,
            relay_port=relay.port,
            queue=QUEUE,
            smtp_port=smtp_port,
        )
        + extra
    )
    here = Site(directory, url, config, smtp_port, relay, {**SECRET, **(env or {})})
    try:
        here.cli("db", "upgrade")
        if not run:
            yield here
            return
        args = ("--config", str(config), "--log-level", "warning")
        here.launched = time.perf_counter()
        with Daemon(directory, args, env=here.env) as daemon:
            daemon.wait_for(READY_LINE)
            here.daemon = daemon
            yield here
            if daemon.stop() != 0:
                raise RuntimeError(f"the daemon did not stop cleanly:\n{daemon.output}")
    finally:
        if own_relay:
            relay.down()


def send_all(port: int, items: Sequence[Item], clients: int) -> None:
    """Send `items` over `clients` concurrent SMTP sessions; every one must get a 250."""

    def client(share: Sequence[Item]) -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=120) as smtp:
            for item in share:
                smtp.sendmail(item.mail_from, [QUEUE], item.raw)

    shares = [items[number::clients] for number in range(clients)]
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, shares))


def wait_until_processed(site: Site, expected: int, timeout: float = 900) -> None:
    """Return once `expected` intake rows are processed (their mail may still be unsent)."""
    _wait(site, expected, timeout, answered=False)


def wait_until_done(site: Site, expected: int, timeout: float = 900) -> None:
    """Return once `expected` intake rows are processed and every acknowledgement and other
    outgoing mail has reached the relay sink."""
    _wait(site, expected, timeout, answered=True)


def _wait(site: Site, expected: int, timeout: float, answered: bool) -> None:
    engine = create_engine(site.url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                counts = connection.execute(
                    text(
                        "SELECT"
                        " (SELECT count(*) FROM inbound_message WHERE status <> 'pending'),"
                        " (SELECT count(*) FROM outbound_message WHERE status = 'pending'),"
                        " (SELECT count(*) FROM outbound_message WHERE status = 'sent')"
                    )
                ).one()
            processed, unsent, sent = counts
            done = not unsent and len(site.relay.received) >= sent
            if processed >= expected and (done or not answered):
                return
            time.sleep(POLL_SECONDS)
    finally:
        engine.dispose()
    what = "processed and answered" if answered else "processed"
    raise TimeoutError(f"{expected} messages were not {what} in {timeout} s")
