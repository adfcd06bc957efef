"""No double answers: two agents, one ticket, through the real pipeline, a real relay and the
injected clock; what the customer and each agent find in their mailbox."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from mailtickets.db.models import OutboundStatus
from mailtickets.services import held
from tests.support.cli import SECRET, mailtickets
from tests.support.daemon import READY_LINE, Daemon
from tests.support.helpdesk import Helpdesk, make_helpdesk
from tests.support.mail import compose
from tests.support.relay import Relay, free_port

ALICE, CARLA, ANA = "alice@acme.example", "carla@acme.example", "ana@example.com"
CARLA_SERVES_SUPPORT = '[[agent]]\naddress = "carla@acme.example"\nname = "Carla"\n'


@pytest.fixture
def relay() -> Iterator[Relay]:
    relay = Relay().up()
    yield relay
    relay.down()


def _desk(relay: Relay, tmp_path: Path, url: str, extra: str = "") -> Helpdesk:
    outgoing = (
        f'[outgoing]\nhost = "127.0.0.1"\nport = {relay.port}\ntls = "none"\n'
        'retry_delay = "10s"\ngive_up_after = "1h"\ntimeout = "30s"\n'
    )
    return make_helpdesk(url, tmp_path, CARLA_SERVES_SUPPORT + outgoing + extra)


@pytest.fixture
def desk(relay: Relay, tmp_path: Path, database_url: str) -> Iterator[Helpdesk]:
    helpdesk = _desk(relay, tmp_path, database_url)
    yield helpdesk
    helpdesk.app.engine.dispose()


def _to(relay: Relay, address: str) -> list[EmailMessage]:
    return [r.message for r in relay.received if address in r.recipients]


def _text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def _answer(desk: Helpdesk, ticket_id: int, agent: str, template: str, body: str) -> str | None:
    """`agent` answers the mail of `template` they got about the ticket; returns the outcome."""
    address = desk.reply_address(ticket_id, agent, template)
    mail = compose(sender=agent, to=address, subject="Re: Printer on fire", body=body)
    return desk.deliver(mail, rcpt=(address,), mail_from=agent).outcome


def _both_notified(desk: Helpdesk, relay: Relay) -> int:
    ticket_id = desk.deliver(compose(), mail_from=ANA).ticket_id
    assert ticket_id is not None
    desk.send_all()
    assert [m["Subject"] for m in _to(relay, ALICE)] == [m["Subject"] for m in _to(relay, CARLA)]
    return ticket_id


def test_the_second_answer_is_held_then_sent_once_on_send(desk: Helpdesk, relay: Relay) -> None:
    ticket_id = _both_notified(desk, relay)
    answered_before = len(_to(relay, ANA))  # the acknowledgement
    desk.clock.advance(timedelta(minutes=5))
    assert _answer(desk, ticket_id, ALICE, "agent/new_ticket", "Use tray 2.") == "agent_reply"
    desk.clock.advance(timedelta(minutes=5))
    # Carla answers the notice she got before Alice's answer went out.
    outcome = _answer(desk, ticket_id, CARLA, "agent/new_ticket", "Restart the printer.")
    assert outcome == "reply_held"
    desk.send_all()

    to_ana = _to(relay, ANA)[answered_before:]
    assert [_text(m).splitlines()[0] for m in to_ana] == ["Use tray 2."]
    told, hold = _to(relay, CARLA)[1:]
    # Carla heard of Alice's answer once, and then that her own was held, with Alice's text
    # and the one line that says what to do.
    assert told["Subject"].startswith(f"[ACME #{ticket_id}] Answered:") and "Use tray 2." in _text(
        told
    )
    assert hold["Subject"].startswith(f"[ACME #{ticket_id}] Your answer was held:")
    notice = _text(hold)
    assert "Use tray 2." in notice and "Restart the printer." in notice
    assert "Reply #send to send yours anyway, or #discard." in notice
    # Alice is not told of her own answer ("others", the default).
    assert not [
        m for m in _to(relay, ALICE) if m["Subject"].startswith(f"[ACME #{ticket_id}] Answered:")
    ]

    assert _answer(desk, ticket_id, CARLA, "agent/reply_held", "#send") == "commands"
    desk.send_all()
    (sent,) = _to(relay, ANA)[answered_before + 1 :]
    assert _text(sent).startswith("Restart the printer.")
    # Threaded on what Ana has seen: Alice's answer, never the notices.
    assert to_ana[0]["Message-ID"] in sent["References"]

    # A second #send finds nothing to send: a clear answer, and Ana gets nothing more.
    assert _answer(desk, ticket_id, CARLA, "agent/reply_held", "#send") == "command_error"
    desk.send_all()
    assert len(_to(relay, ANA)) == answered_before + 2
    error = _to(relay, CARLA)[-1]
    assert "#send: your held answer was already sent on" in _text(error)


def test_an_answer_nobody_decides_on_expires_with_one_notice(desk: Helpdesk, relay: Relay) -> None:
    ticket_id = _both_notified(desk, relay)
    _answer(desk, ticket_id, ALICE, "agent/new_ticket", "Use tray 2.")
    _answer(desk, ticket_id, CARLA, "agent/new_ticket", "Restart the printer.")
    desk.send_all()
    before = len(relay.received)
    to_ana = len(_to(relay, ANA))

    desk.clock.advance(timedelta(hours=23, minutes=59))
    assert _expire(desk) == 0
    desk.clock.advance(timedelta(minutes=1))
    assert _expire(desk) == 1
    assert _expire(desk) == 0
    desk.send_all()

    (notice,) = [r.message for r in relay.received[before:]]
    assert notice["To"] == CARLA
    assert notice["Subject"].startswith(f"[ACME #{ticket_id}] Held answer dropped:")
    assert "Restart the printer." in _text(notice)
    assert len(_to(relay, ANA)) == to_ana
    assert [o.status for o in desk.outbox(ticket_id) if o.status is OutboundStatus.DISCARDED]
    # Too late to send it now: the agent is told, nothing goes out.
    assert _answer(desk, ticket_id, CARLA, "agent/reply_held", "#send") == "command_error"
    desk.send_all()
    assert len(_to(relay, ANA)) == to_ana
    assert "your held answer was already expired" in _text(_to(relay, CARLA)[-1])


def _expire(desk: Helpdesk) -> int:
    return held.expire(desk.app.sessions, desk.app.secret, "ACME", desk.clock.now())


@pytest.fixture
def on_sqlite(relay: Relay, tmp_path: Path) -> Iterator[Helpdesk]:
    helpdesk = _desk(relay, tmp_path, f"sqlite:///{tmp_path / 'mailtickets.db'}")
    yield helpdesk
    helpdesk.app.engine.dispose()


def test_notes_and_commands_are_never_held_and_send_without_a_held_answer_is_refused(
    on_sqlite: Helpdesk, relay: Relay
) -> None:
    desk = on_sqlite
    ticket_id = _both_notified(desk, relay)
    _answer(desk, ticket_id, ALICE, "agent/new_ticket", "Use tray 2.")
    old = "agent/new_ticket"
    assert _answer(desk, ticket_id, CARLA, old, "#note\nCalled her: tray 2 works.") == "note"
    assert _answer(desk, ticket_id, CARLA, old, "#priority high") == "commands"
    assert desk.ticket(ticket_id)["priority"] == "high"
    for decision in ("#send", "#discard", "#enviar"):
        assert _answer(desk, ticket_id, CARLA, old, decision) == "command_error"
    desk.send_all()
    errors = [_text(m) for m in _to(relay, CARLA) if "could not be applied" in _text(m)]
    assert len(errors) == 3
    assert all("you have no answer held on this ticket" in e for e in errors)
    assert not [m for m in _to(relay, CARLA) if "was held" in str(m["Subject"])]
    assert len(_to(relay, ANA)) == 2  # the acknowledgement and Alice's answer


def test_a_discarded_answer_never_reaches_the_customer(on_sqlite: Helpdesk, relay: Relay) -> None:
    desk = on_sqlite
    ticket_id = _both_notified(desk, relay)
    _answer(desk, ticket_id, ALICE, "agent/new_ticket", "Use tray 2.")
    _answer(desk, ticket_id, CARLA, "agent/new_ticket", "Restart the printer.")
    assert _answer(desk, ticket_id, CARLA, "agent/reply_held", "#descartar") == "commands"
    assert _answer(desk, ticket_id, CARLA, "agent/reply_held", "#send") == "command_error"
    desk.send_all()
    assert [_text(m).splitlines()[0] for m in _to(relay, ANA)[1:]] == ["Use tray 2."]
    assert "your held answer was already discarded" in _text(_to(relay, CARLA)[-1])
    # Answering after the hold notice, having seen Alice's answer, is not held.
    assert _answer(desk, ticket_id, CARLA, "agent/reply_held", "And tray 3.") == "agent_reply"
    desk.clock.advance(timedelta(days=2))
    assert _expire(desk) == 0  # decided: nothing left to expire


@pytest.mark.parametrize(
    ("answered", "told"), [("none", []), ("others", [CARLA]), ("all", [ALICE, CARLA])]
)
def test_who_is_told_that_the_ticket_was_answered(
    relay: Relay, tmp_path: Path, answered: str, told: list[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'mailtickets.db'}"
    desk = _desk(relay, tmp_path, url, f'[notifications]\nanswered = "{answered}"\n')
    ticket_id = _both_notified(desk, relay)
    _answer(desk, ticket_id, ALICE, "agent/new_ticket", "Use tray 2.")
    # A second answer before the customer writes again tells nobody again.
    _answer(desk, ticket_id, ALICE, "agent/new_ticket", "Or tray 3.")
    desk.send_all()
    notices = [r for r in relay.received if "Answered:" in str(r.message["Subject"])]
    assert sorted(a for r in notices for a in r.recipients) == told
    desk.app.engine.dispose()


def test_the_running_daemon_holds_the_second_answer_until_send(
    relay: Relay, tmp_path: Path
) -> None:
    port = free_port()
    config = tmp_path / "site.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path}/mt.db"\n[storage]\ndir = "{tmp_path}/var"\n'
        '[tickets]\nsubject_prefix = "ACME"\nsecret_env = "SECRET"\n'
        '[[queue]]\naddress = "support@acme.example"\n'
        f'[[agent]]\naddress = "{ALICE}"\nname = "Alice"\n{CARLA_SERVES_SUPPORT}'
        f'[[smtp]]\nhost = "127.0.0.1"\nport = {port}\n'
        f'[outgoing]\nhost = "127.0.0.1"\nport = {relay.port}\ntls = "none"\n'
        # One connection: the mail goes out in the order it was queued, which the waits
        # on the outbox numbers below rely on.
        "connections = 1\n"
    )
    env = {"SECRET": SECRET}
    upgraded = mailtickets("--config", str(config), "db", "upgrade", cwd=tmp_path, env=env)
    assert upgraded.returncode == 0, upgraded.stderr

    def send(sender: str, to: str, body: str) -> None:
        mail = compose(sender=sender, to=to, subject="Re: Printer on fire", body=body)
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            client.sendmail(sender, [to], mail.replace(b"\n", b"\r\n"))

    with Daemon(tmp_path, ("--config", str(config)), env=env) as daemon:
        daemon.wait_for(READY_LINE)
        send(ANA, "support@acme.example", "The printer is on fire.")
        daemon.wait_for("outbox #3 sent")  # the acknowledgement, then both agents' notices
        (alice_notice,), (carla_notice,) = _to(relay, ALICE), _to(relay, CARLA)
        send(ALICE, str(alice_notice["Reply-To"]), "Use tray 2.")
        daemon.wait_for("outbox #5 sent")  # Ana's answer, then Carla told of it
        send(CARLA, str(carla_notice["Reply-To"]), "Restart the printer.")
        daemon.wait_for("outbox #7 sent")  # #6 is Carla's answer, held; #7 tells her
        hold = _to(relay, CARLA)[-1]
        assert "Use tray 2." in _text(hold)
        send(CARLA, str(hold["Reply-To"]), "#send")
        daemon.wait_for("outbox #6 sent")
        send(CARLA, str(hold["Reply-To"]), "#send")
        daemon.wait_for("outbox #8 sent")  # the answer to the second #send
        assert daemon.stop() == 0, daemon.output
    answers = [_text(m).splitlines()[0] for m in _to(relay, ANA)[1:]]
    assert answers == ["Use tray 2.", "Restart the printer."]
    assert "your held answer was already sent" in _text(_to(relay, CARLA)[-1])


def test_a_held_answer_holds_its_resolve_too_and_send_does_both(
    on_sqlite: Helpdesk, relay: Relay
) -> None:
    desk = on_sqlite
    ticket_id = _both_notified(desk, relay)
    _answer(desk, ticket_id, ALICE, "agent/new_ticket", "Use tray 2.")
    held_mail = "#resolve\nRestart the printer."
    assert _answer(desk, ticket_id, CARLA, "agent/new_ticket", held_mail) == "reply_held"
    desk.send_all()
    # Nothing tells Ana her request is resolved while the answer that says so is held.
    assert desk.ticket(ticket_id)["status"] == "pending"
    assert [_text(m).splitlines()[0] for m in _to(relay, ANA)[1:]] == ["Use tray 2."]
    notice = _text(_to(relay, CARLA)[-1])
    assert "Your #resolve waits with it: #send sends the answer and resolves the ticket." in notice

    assert _answer(desk, ticket_id, CARLA, "agent/reply_held", "#send") == "commands"
    desk.send_all()
    assert desk.ticket(ticket_id)["status"] == "resolved"
    sent = _text(_to(relay, ANA)[2])
    assert sent.startswith("Restart the printer.") and "This request is now resolved." in sent
    # The answer said it: no separate "resolved" mail.
    assert not [m for m in _to(relay, ANA) if "resolved" in str(m["Subject"]).lower()]


def test_another_status_with_a_held_answer_is_made_only_when_said_again(
    on_sqlite: Helpdesk, relay: Relay
) -> None:
    desk = on_sqlite
    ticket_id = _both_notified(desk, relay)
    _answer(desk, ticket_id, ALICE, "agent/new_ticket", "Use tray 2.")
    held_mail = "#status closed\nRestart the printer."
    assert _answer(desk, ticket_id, CARLA, "agent/new_ticket", held_mail) == "reply_held"
    desk.send_all()
    assert desk.ticket(ticket_id)["status"] == "pending"
    notice = " ".join(_text(_to(relay, CARLA)[-1]).split())
    assert "reply #send with #status closed to send the answer and make it." in notice
    decision = "#send\n#status closed"
    assert _answer(desk, ticket_id, CARLA, "agent/reply_held", decision) == "commands"
    desk.send_all()
    assert desk.ticket(ticket_id)["status"] == "closed"
    assert _text(_to(relay, ANA)[-1]).startswith("Restart the printer.")
