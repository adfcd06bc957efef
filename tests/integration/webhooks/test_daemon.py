"""The real `mailtickets run` posts webhook events; SIGKILLed after the ticket's commit and
before its event reached the receiver, it posts the event after a restart, once. And the
`mailtickets webhooks` commands an operator uses."""

from __future__ import annotations

import json
import signal
import smtplib
import socket
from pathlib import Path

from tests.support.cli import SECRET, mailtickets
from tests.support.daemon import READY_LINE, Daemon
from tests.support.mail import compose
from tests.support.relay import free_port
from tests.support.webhooks import Receiver

ENV = {"MAILTICKETS_WEBHOOK_SECRET": SECRET}


def _site(tmp_path: Path, receiver: Receiver) -> tuple[Path, int]:
    port = free_port()
    config = tmp_path / "site.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path}/mt.db"\n[storage]\ndir = "{tmp_path}/var"\n'
        '[[queue]]\naddress = "support@acme.example"\n'
        f'[[smtp]]\nhost = "127.0.0.1"\nport = {port}\n'
        '[outgoing]\nretry_delay = "1s"\n'
        f'[[webhook]]\nname = "crm"\nurl = "{receiver.url}"\n'
        'secret_env = "MAILTICKETS_WEBHOOK_SECRET"\n'
    )
    upgraded = mailtickets("--config", str(config), "db", "upgrade", cwd=tmp_path, env=ENV)
    assert upgraded.returncode == 0, upgraded.stderr
    return config, port


def _waiting(config: Path, cwd: Path) -> list[dict[str, object]]:
    listed = mailtickets("--config", str(config), "webhooks", "list", "--json", cwd=cwd, env=ENV)
    assert listed.returncode == 0, listed.stderr
    return list(json.loads(listed.stdout))


def test_killed_between_commit_and_post_the_event_is_posted_after_restart_once(
    tmp_path: Path,
) -> None:
    receiver = Receiver()  # not listening yet: the post cannot happen before the kill
    config, port = _site(tmp_path, receiver)
    with Daemon(tmp_path, ("--config", str(config)), env=ENV) as daemon:
        daemon.wait_for(READY_LINE)
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.sendmail("ana@example.com", ["support@acme.example"], compose())
        daemon.wait_for("webhook #1 to crm deferred")  # committed, and not delivered
        daemon.stop(signal.SIGKILL)
    (waiting,) = _waiting(config, tmp_path)
    assert (waiting["type"], waiting["status"]) == ("ticket.created", "pending")
    listed = mailtickets("--config", str(config), "webhooks", "list", cwd=tmp_path, env=ENV)
    header, row, total = listed.stdout.splitlines()
    assert header.split() == [
        "id",
        "status",
        "receiver",
        "event",
        "ticket",
        "attempts",
        "next",
        "try",
        "last",
        "error",
    ]
    assert row.split()[:6] == ["#1", "pending", "crm", "ticket.created", "#1", "1"]
    assert "ConnectError" in row
    assert total == "1 event(s)"
    receiver.up()
    try:
        with Daemon(tmp_path, ("--config", str(config)), env=ENV) as daemon:
            daemon.wait_for("webhook #1 ticket.created sent to crm")
            assert daemon.stop() == 0, daemon.output
    finally:
        receiver.down()
    (post,) = receiver.posts
    assert post.answered == 200
    assert post.json["id"] == waiting["event_id"]
    assert post.signed_with(SECRET)
    assert _waiting(config, tmp_path) == []


def test_a_receiver_that_never_answers_holds_up_no_mail(tmp_path: Path) -> None:
    with socket.socket() as silent:
        # Connections complete in the kernel; nobody accepts them, so no answer ever comes.
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        receiver = Receiver()
        receiver.port = int(silent.getsockname()[1])
        config, port = _site(tmp_path, receiver)
        with Daemon(tmp_path, ("--config", str(config)), env=ENV) as daemon:
            daemon.wait_for(READY_LINE)
            for n in range(3):
                with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                    raw = compose(subject=f"mail {n}")
                    client.sendmail("ana@example.com", ["support@acme.example"], raw)
            # Every acknowledgement goes out; no event does.
            for n in (1, 2, 3):
                daemon.wait_for(f"outbox #{n} sent")
            daemon.stop()
    assert [row["status"] for row in _waiting(config, tmp_path)] == ["pending"] * 3


def test_webhooks_list_retry_and_test(tmp_path: Path) -> None:
    receiver = Receiver().up()
    try:
        config, _port = _site(tmp_path, receiver)

        def run(*args: str) -> tuple[int, str, str]:
            done = mailtickets("--config", str(config), *args, cwd=tmp_path, env=ENV)
            return done.returncode, done.stdout, done.stderr

        code, out, _ = run("webhooks", "test", "crm")
        assert (code, out) == (0, "crm: the test event was taken\n")
        (test,) = receiver.posts
        assert test.json["type"] == "webhook.test"
        assert test.signed_with(SECRET)

        receiver.answers = [500]
        code, _, err = run("webhooks", "test", "crm")
        assert code == 1
        assert err.startswith("mailtickets: crm did not take the test event: answered 500")
        receiver.answers = [410]
        code, _, err = run("webhooks", "test", "crm")
        assert err.startswith("mailtickets: crm refused the test event: answered 410")
        code, _, err = run("webhooks", "test", "chat")
        assert (code, err) == (1, "mailtickets: no [[webhook]] named chat (crm)\n")

        code, out, _ = run("webhooks", "list")
        assert (code, out) == (0, "0 event(s)\n")
        code, out, _ = run("status")
        assert "\nwebhooks: 0 pending, 0 failed, 0 sent\n" in out
        code, _, err = run("webhooks", "retry")
        assert (code, err) == (1, "mailtickets: give one delivery id or --all\n")
        code, _, err = run("webhooks", "retry", "7")
        assert (code, err) == (1, "mailtickets: no failed or waiting webhook delivery #7\n")
    finally:
        receiver.down()
