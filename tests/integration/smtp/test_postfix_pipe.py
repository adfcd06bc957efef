"""A real Postfix hands mail to `mailtickets deliver` through pipe(8), as the README says.

For every fault that is not the sender's — the database away, storage that cannot be
written, a broken configuration — Postfix must defer the message (keep it, retry later) and
bounce nothing to the sender; once the fault is fixed, `postqueue -f` delivers it, once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.faults.proxy import Proxy
from tests.support.cli import SECRET
from tests.support.postfix import Postfix, running_postfix
from tests.support.postgres import fresh_database
from tests.support.smtp import message
from tests.support.users import (
    USER,
    command,
    daemon_as,
    give,
    mailtickets_as,
    python,
    require_root,
    shared_directory,
)

QUEUE = "support@acme.example"
CUSTOMER = "carol@customer.example"
GOOD = f'[storage]\ndir = "var"\n[[queue]]\naddress = "{QUEUE}"\n'


@dataclass
class Site:
    """A config file and its storage directory, owned by the user Postfix's pipe runs as."""

    directory: Path

    @property
    def config(self) -> Path:
        return self.directory / "mailtickets.toml"

    def mailtickets(self, *args: str) -> str:
        result = mailtickets_as(None, "--config", str(self.config), *args, cwd=self.directory)
        assert result.returncode == 0, result.stderr
        return result.stdout


def pipe_service(site: Site) -> str:
    """The README's master.cf entry, with this test's interpreter and config file."""
    _, variables = python()
    # pipe(8) passes the command no environment of ours: env(1) sets what it needs.
    settings = [f"{k}={v}" for k, v in {**variables, "MAILTICKETS_CONFIG_PATH": ""}.items()]
    argv = " ".join(["/usr/bin/env", *settings, *command()])
    return (
        "mailtickets unix - n n - - pipe\n"
        f"  flags=DRq user={USER} argv={argv}\n"
        f"  --config {site.config} deliver --sender ${{sender}} --recipient ${{recipient}}\n"
    )


@pytest.fixture
def site() -> Iterator[Site]:
    require_root()
    with shared_directory("mailtickets-pipe-") as directory:
        (directory / "var").mkdir()
        give(directory / "var")
        yield Site(directory)


@pytest.fixture
def postfix(site: Site) -> Iterator[Postfix]:
    with running_postfix(
        transports={"acme.example": "mailtickets:"},
        services=pipe_service(site),
        # ${recipient} becomes one argument per recipient: one recipient per delivery.
        parameters={"mailtickets_destination_recipient_limit": "1"},
    ) as server:
        yield server


def deferred_then_delivered_once(
    postfix: Postfix, site: Site, cause: str, fix: Callable[[], None]
) -> None:
    queue_id = postfix.send(CUSTOMER, [QUEUE], message())
    deferred = postfix.delivery(queue_id, "deferred")
    assert (deferred["relay"], deferred["dsn"]) == ("mailtickets", "4.3.0")
    assert (
        f"mailtickets: the message was not stored, try again later: {cause}" in deferred["reason"]
    )
    assert "Traceback" not in postfix.log
    [queued] = postfix.settled_queue(
        lambda queue: [q.queue_name for q in queue.values()] == ["deferred"]
    ).values()
    assert (queued.queue_id, queued.queue_name, queued.sender) == (queue_id, "deferred", CUSTOMER)
    assert cause in queued.recipients[QUEUE]
    # Nothing went back to the customer: no delivery status notification was made.
    assert "non-delivery notification" not in postfix.log

    fix()
    before = len(postfix.log)
    postfix.flush()
    sent = postfix.delivery(queue_id, "sent", after=before)
    assert sent["relay"] == "mailtickets"
    assert "accepted intake #1 from pipe" in sent["reason"]
    assert postfix.settled_queue(lambda queue: not queue) == {}
    assert postfix.log.count(f"{queue_id}: to=<{QUEUE}>") == 2  # deferred once, sent once

    # The daemon makes one ticket of it.
    with daemon_as(None, site.directory, ("--config", str(site.config))) as daemon:
        daemon.wait_for(", ticket #1, ")
        assert daemon.stop() == 0
    [ticket] = json.loads(site.mailtickets("tickets", "list", "--json"))
    assert (ticket["customer"], ticket["messages"]) == (CUSTOMER, 1)


def test_a_database_away_defers_and_back_delivers_once(site: Site, postfix: Postfix) -> None:
    with fresh_database() as url:
        database = url.rpartition("/")[2]
        proxy = Proxy(("127.0.0.1", 5432)).restore()
        # The secret beside the config, where every command run with it finds it.
        (site.directory / ".env").write_text(f"MAILTICKETS_SECRET={SECRET}\n")
        site.config.write_text(
            f'[database]\nurl = "postgresql+psycopg://root@127.0.0.1:{proxy.port}/{database}"\n'
            + GOOD
        )
        try:
            site.mailtickets("db", "upgrade")
            proxy.cut()
            deferred_then_delivered_once(postfix, site, "connection failed", proxy.restore)
        finally:
            proxy.cut()


def test_unwritable_storage_defers_and_fixed_delivers_once(site: Site, postfix: Postfix) -> None:
    site.config.write_text(GOOD)
    site.mailtickets("db", "upgrade")
    storage = site.directory / "var"
    storage.chmod(0o555)
    database = storage / "mailtickets.db"
    deferred_then_delivered_once(
        postfix,
        site,
        f"attempt to write a readonly database (sqlite:///{database})",
        lambda: storage.chmod(0o750),
    )


def test_a_broken_configuration_defers_and_fixed_delivers_once(
    site: Site, postfix: Postfix
) -> None:
    site.config.write_text(GOOD)
    site.mailtickets("db", "upgrade")
    site.config.write_text(GOOD + 'nmae = "Support"\n')
    deferred_then_delivered_once(
        postfix,
        site,
        f"[queue.{QUEUE}] nmae: unknown key ({site.config})",
        lambda: site.config.write_text(GOOD),
    )


def test_a_bounce_comes_back_through_the_pipe_with_the_null_sender(
    site: Site, postfix: Postfix
) -> None:
    # Mail from the queue to an address Postfix cannot deliver: Postfix's own DSN goes back
    # to the queue address, through the pipe, with an empty ${sender}.
    site.config.write_text(GOOD)
    site.mailtickets("db", "upgrade")
    queue_id = postfix.send(QUEUE, ["ana@customer.example"], message())
    postfix.delivery(queue_id, "bounced")
    notice = postfix.wait_for_log(rf"{queue_id}: sender non-delivery notification: (\w+)")[1]
    stored = postfix.delivery(notice, "sent")
    assert "accepted intake #1 from pipe" in stored["reason"]
    with daemon_as(None, site.directory, ("--config", str(site.config))) as daemon:
        daemon.wait_for("intake #1: ")
        assert daemon.stop() == 0
    assert "intake #1: bounce" in daemon.output
