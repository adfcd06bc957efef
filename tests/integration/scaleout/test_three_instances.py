"""Three real `mailtickets run` instances on one PostgreSQL, one Dovecot mailbox and SMTP
traffic to each: every message is one ticket, every mail goes out once, and when the owner of
the mailbox and of the SLA sweep is killed, another instance takes both over."""

from __future__ import annotations

import signal
import smtplib
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine

from mailtickets.db.models import (
    Message,
    OutboundMessage,
    OutboundStatus,
    SlaNotification,
    Ticket,
)
from mailtickets.db.ownership import SCHEDULER, imap_folder, owners
from tests.support.cli import mailtickets
from tests.support.daemon import READY_LINE, Daemon
from tests.support.dovecot import Dovecot, User, message, running_dovecot
from tests.support.relay import Relay, free_port

SECRET = "a shared secret for every instance"
QUEUE = "support@acme.example"
AGENT = "alice@acme.example"
SETTLE_SECONDS = 120


def _config(directory: Path, url: str, relay: Relay, box: tuple[Dovecot, User]) -> Path:
    server, user = box
    smtp_port = free_port()
    directory.mkdir()
    config = directory / "site.toml"
    config.write_text(
        f'[database]\nurl = "{url}"\n'
        f'[storage]\ndir = "{directory}/var"\n'
        '[daemon]\ntakeover_interval = "1s"\n'
        "[tickets]\nmax_acknowledgements_per_hour = 1000\n"
        '[ingest]\npoll_interval = "1s"\n'
        f'[[queue]]\naddress = "{QUEUE}"\nsla = "fast"\n'
        f'[[smtp]]\nhost = "127.0.0.1"\nport = {smtp_port}\n'
        f'[[imap]]\nname = "support"\nhost = "127.0.0.1"\nport = {server.port}\n'
        f'tls = "none"\nusername = "{user.name}"\npassword_env = "IMAP_PASSWORD"\n'
        f'queue = "{QUEUE}"\npoll_interval = "1s"\n'
        f'[outgoing]\nhost = "127.0.0.1"\nport = {relay.port}\ntls = "none"\nretry_delay = "1s"\n'
        # A send in hand is another instance's to retry after 4 x timeout: keep it short.
        'timeout = "5s"\n'
        f'[[agent]]\naddress = "{AGENT}"\nname = "Alice"\nrole = "manager"\n'
        # Every ticket breaches its SLA within seconds: the sweep has work on every instance.
        '[[sla]]\nname = "fast"\nfirst_response = "3s"\nwarn_at = 0.5\n'
        '[scheduler]\nsweep_interval = "1s"\n'
    )
    (directory / "port").write_text(str(smtp_port))
    return config


@pytest.fixture
def relay() -> Iterator[Relay]:
    sink = Relay().up()
    yield sink
    sink.down()


def _send(port: int, number: int) -> None:
    raw = message(number, subject=f"SMTP request {number}", message_id=f"smtp-{number}@c.example")
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.sendmail(f"carol{number}@customer.example", [QUEUE], raw)


def _append(server: Dovecot, user: User, number: int) -> None:
    with server.session(user) as client:
        client.append("INBOX", message(number, subject=f"IMAP request {number}"))


def _owner_pids(engine: Engine) -> dict[str, int]:
    """Which instance (by pid) owns the sweep and the mailbox folder."""
    with engine.connect() as connection:
        found = owners(connection, [SCHEDULER, imap_folder("support", "INBOX")])
    # Names are mailtickets@host:pid.tag.
    return {duty: int(name.rsplit(":", 1)[1].partition(".")[0]) for duty, name in found.items()}


def _wait(
    what: str, test: Callable[[], bool], seconds: float = SETTLE_SECONDS, seen: object = None
) -> None:
    deadline = time.monotonic() + seconds
    while not test():
        assert time.monotonic() < deadline, f"not within {seconds:.0f}s: {what}; seen {seen}"
        time.sleep(0.25)


def test_three_instances_share_the_work_and_take_over_from_a_killed_owner(
    postgres_url: str, relay: Relay, tmp_path: Path
) -> None:
    engine = create_engine(postgres_url)
    with running_dovecot() as server, ExitStack() as stack:
        user = server.add_user()
        configs = [
            _config(tmp_path / f"instance{n}", postgres_url, relay, (server, user))
            for n in range(3)
        ]
        env = {"MAILTICKETS_SECRET": SECRET, "IMAP_PASSWORD": user.password}
        upgraded = mailtickets("--config", str(configs[0]), "db", "upgrade", cwd=tmp_path, env=env)
        assert upgraded.returncode == 0, upgraded.stderr
        daemons = {}
        for config in configs:
            # Warnings only: nothing reads a daemon's stderr between `wait_for` calls, and a
            # full pipe would stop it.
            args = ("--log-level", "warning", "--config", str(config))
            daemon = stack.enter_context(Daemon(config.parent, args, env))
            daemon.wait_for(READY_LINE)
            daemons[daemon.process.pid] = (daemon, int((config.parent / "port").read_text()))

        # Round one: SMTP to every instance, mail into the one mailbox.
        ports = [port for _daemon, port in daemons.values()]
        for number in range(60):
            _send(ports[number % 3], number)
        for number in range(20):
            _append(server, user, number)
        _wait("both duties owned", lambda: len(_owner_pids(engine)) == 2, 30)
        doomed = set(_owner_pids(engine).values())
        print(f"owners before the kill: {_owner_pids(engine)}")

        # Kill the owners while the work of round one is still under way.
        for pid in doomed:
            daemons[pid][0].stop(signal.SIGKILL)
        survivors = [port for pid, (_d, port) in daemons.items() if pid not in doomed]
        _wait(
            "a surviving instance owns both duties",
            lambda: (
                set(_owner_pids(engine).values()) <= set(daemons) - doomed
                and len(_owner_pids(engine)) == 2
            ),
            30,
        )
        print(f"owners after the kill: {_owner_pids(engine)}")
        shown = mailtickets("--config", str(configs[0]), "status", cwd=tmp_path, env=env)
        new_owner = _owner_pids(engine)[SCHEDULER]
        assert "duty:    scheduler: mailtickets@" in shown.stdout, shown.stderr
        assert f":{new_owner}." in shown.stdout
        assert "duty:    imap:support/INBOX: mailtickets@" in shown.stdout

        # Round two: only the survivors are there to serve it.
        for number in range(60, 90):
            _send(survivors[number % len(survivors)], number)
        for number in range(20, 30):
            _append(server, user, number)

        state: dict[str, int | None] = {}

        def settled() -> bool:
            with engine.connect() as connection:
                tickets = connection.scalar(select(func.count()).select_from(Ticket))
                breaches = connection.scalar(
                    select(func.count())
                    .select_from(SlaNotification)
                    .where(SlaNotification.kind == "first_response_breach")
                )
                unsent = connection.scalar(
                    select(func.count())
                    .select_from(OutboundMessage)
                    .where(OutboundMessage.status != OutboundStatus.SENT)
                )
            state.update(tickets=tickets, breaches=breaches, unsent=unsent)
            return tickets == 120 and breaches == 120 and unsent == 0

        _wait("120 tickets, 120 breach notices, nothing left to send", settled, seen=state)
        for pid, (daemon, _port) in daemons.items():
            if pid not in doomed:
                assert daemon.stop() == 0, daemon.output

        with engine.connect() as connection:
            subjects = Counter(connection.scalars(select(Ticket.subject)))
            messages = Counter(connection.scalars(select(Message.ticket_id)))
            outbox = connection.execute(
                select(OutboundMessage.message_id, OutboundMessage.template)
            ).all()
        with server.session(user) as client:
            client.select_folder("INBOX")
            unseen = client.search(["UNSEEN"])
    engine.dispose()

    expected = {f"SMTP request {n}" for n in range(90)} | {f"IMAP request {n}" for n in range(30)}
    assert set(subjects) == expected
    assert max(subjects.values()) == 1, "a message became two tickets"
    assert set(messages.values()) == {1}, "a ticket holds a message twice"
    templates = Counter(template for _id, template in outbox)
    assert templates["customer/acknowledgement"] == 120
    assert templates["agent/sla_breached"] == 120
    delivered = Counter(received.message["Message-ID"] for received in relay.received)
    doubled = [mid for mid, count in delivered.items() if count > 1]
    # A mail the relay accepted in the instant before its sender was killed, not yet marked
    # sent, goes again (with the same Message-ID); an instance sends one mail at a time.
    assert len(doubled) <= len(doomed), f"{len(doubled)} mail(s) reached the relay twice"
    assert max(delivered.values()) <= 2
    assert set(delivered) == {f"<{mid}>" for mid, _template in outbox}, "every mail went out"
    assert unseen == [], "the new owner flags what the killed one read"
    print(
        f"120 messages (90 SMTP to 3 instances, 30 IMAP), {len(doomed)} owner(s) killed: "
        f"{len(subjects)} tickets, {len(delivered)} mails sent, {len(doubled)} of them twice "
        "(accepted by the relay in the instant of a kill)"
    )
