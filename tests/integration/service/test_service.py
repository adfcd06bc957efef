"""The real `mailtickets run` as a service: systemd notify, SIGHUP, health and metrics,
and SIGTERM in the middle of a client's DATA."""

from __future__ import annotations

import json
import mailbox
import signal
import smtplib
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.support.cli import mailtickets
from tests.support.daemon import READY_LINE, Daemon
from tests.support.mail import compose
from tests.support.relay import Relay, free_port


def _site(tmp_path: Path, extra: str = "") -> tuple[Path, int]:
    port = free_port()
    config = tmp_path / "site.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path}/mt.db"\n[storage]\ndir = "{tmp_path}/var"\n'
        '[tickets]\nsubject_prefix = "ACME"\n[[queue]]\naddress = "support@acme.example"\n'
        f'[[smtp]]\nhost = "127.0.0.1"\nport = {port}\n' + extra
    )
    assert mailtickets("--config", str(config), "db", "upgrade", cwd=tmp_path).returncode == 0
    return config, port


def _send(port: int, raw: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.sendmail("ana@example.com", ["support@acme.example"], raw)


def _until(condition: Callable[[], bool], timeout: float = 30) -> None:
    """Wait for `condition`, looking again every 0.1 s (an event that never fires)."""
    waiter = threading.Event()
    for _ in range(int(timeout * 10)):
        if condition():
            return
        waiter.wait(0.1)
    raise AssertionError("condition not met in time")


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310  (loopback)
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_ready_is_notified_only_once_the_listener_answers(tmp_path: Path) -> None:
    config, port = _site(tmp_path)
    notify = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as systemd:
        systemd.bind(str(notify))
        systemd.settimeout(30)
        env = {"NOTIFY_SOCKET": str(notify)}
        with Daemon(tmp_path, ("--config", str(config)), env) as daemon:
            first = systemd.recv(4096).decode()
            assert "READY=1" in first and "STATUS=serving: " in first
            with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
                assert client.noop()[0] == 250
            daemon.stop()
            assert "STOPPING=1" in systemd.recv(4096).decode()


def test_sighup_picks_up_a_changed_template(tmp_path: Path) -> None:
    site = tmp_path / "templates" / "en" / "customer"
    site.mkdir(parents=True)
    override = site / "acknowledgement.txt.j2"
    override.write_text("{% set subject %}Version A: {{ ticket.subject }}{% endset %}A\n")
    config, port = _site(tmp_path, f'[templates]\ndir = "{tmp_path / "templates"}"\n')
    with Daemon(tmp_path, ("--config", str(config))) as daemon:
        daemon.wait_for(READY_LINE)
        override.write_text("{% set subject %}Version B: {{ ticket.subject }}{% endset %}B\n")
        daemon.process.send_signal(signal.SIGHUP)
        daemon.wait_for("SIGHUP: templates reloaded; config unchanged")
        _send(port, compose(subject="Printer"))
        daemon.wait_for("outbox #1 sent")
        assert daemon.stop() == 0
    outbox = mailbox.Maildir(tmp_path / "var" / "outbox", create=False)
    (ack,) = [outbox.get_message(key) for key in outbox.keys()]  # noqa: SIM118
    assert ack["Subject"] == "[ACME #1] Version B: Printer"


def test_healthz_follows_the_relay_and_metrics_count_what_was_sent(tmp_path: Path) -> None:
    relay = Relay()  # not started yet: the relay is unreachable
    http = free_port()
    extra = (
        f'[outgoing]\nhost = "127.0.0.1"\nport = {relay.port}\ntls = "none"\n'
        f'retry_delay = "1s"\ntimeout = "1s"\n[metrics]\nlisten = "127.0.0.1:{http}"\n'
    )
    config, port = _site(tmp_path, extra)
    with Daemon(tmp_path, ("--config", str(config))) as daemon:
        daemon.wait_for(READY_LINE)
        assert _get(f"http://127.0.0.1:{http}/healthz")[0] == 200
        for n in range(3):
            _send(port, compose(sender=f"c{n}@example.com"))
        _until(lambda: _get(f"http://127.0.0.1:{http}/healthz")[0] == 503)
        status, body = _get(f"http://127.0.0.1:{http}/healthz")
        assert status == 503
        assert json.loads(body)["parts"]["outbox sender"]["ok"] is False
        assert (
            f"relay 127.0.0.1:{relay.port}" in json.loads(body)["parts"]["outbox sender"]["detail"]
        )

        relay.up()
        try:
            _until(lambda: len(relay.received) == 3)
            _until(lambda: _get(f"http://127.0.0.1:{http}/healthz")[0] == 200)
        finally:
            relay.down()
        metrics = {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(
                _get(f"http://127.0.0.1:{http}/metrics")[1]
            )
            for sample in family.samples
        }
        assert daemon.stop() == 0
    assert metrics[("mailtickets_messages_received_total", (("source", "smtp"),))] == 3
    assert metrics[("mailtickets_messages_processed_total", (("outcome", "new_ticket"),))] == 3
    assert metrics[("mailtickets_outbox_sent_total", ())] == 3
    assert metrics[("mailtickets_outbox_failures_total", (("kind", "temporary"),))] >= 1
    assert (
        metrics[("mailtickets_tickets", (("queue", "support@acme.example"), ("status", "open")))]
        == 3
    )
    assert metrics[("mailtickets_processing_seconds_count", ())] == 3


def test_sigterm_mid_data_either_keeps_the_message_or_refuses_it(tmp_path: Path) -> None:
    config, port = _site(tmp_path)
    with Daemon(tmp_path, ("--config", str(config))) as daemon:
        daemon.wait_for(READY_LINE)
        client = smtplib.SMTP("127.0.0.1", port, timeout=30)
        client.ehlo()
        client.mail("ana@example.com")
        client.rcpt("support@acme.example")
        client.putcmd("data")
        assert client.getreply()[0] == 354
        raw = compose(subject="in flight").replace(b"\n", b"\r\n")
        client.send(raw[: len(raw) // 2])
        daemon.process.send_signal(signal.SIGTERM)
        client.send(raw[len(raw) // 2 :] + b"\r\n.\r\n")
        code, _ = client.getreply()
        client.close()
        assert daemon.stop() == 0, daemon.output
    assert code in (250, 421)
    if code == 250:  # accepted: it must become a ticket after a restart
        with Daemon(tmp_path, ("--config", str(config))) as daemon:
            daemon.wait_for(READY_LINE)
            _until(
                lambda: (
                    "in flight"
                    in mailtickets("--config", str(config), "tickets", "list", cwd=tmp_path).stdout
                )
            )
            daemon.stop()
