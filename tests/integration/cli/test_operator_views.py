"""What an operator reads: a ticket whole (tags, participants, history, the mail sent and how
it went), tables with a header row, and JSON with its documented field names — made through
the real pipeline and a real relay, read through the real command line."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mailtickets.db.models import Agent, Ticket
from mailtickets.outbox.notices import reply_address
from tests.support.cli import SECRET, mailtickets
from tests.support.helpdesk import CONFIG, Helpdesk, make_helpdesk
from tests.support.mail import compose
from tests.support.relay import Relay

RELAY = 'host = "127.0.0.1"\nport = {port}\ntls = "none"\ntimeout = "5s"\nretry_delay = "20s"\n'


@pytest.fixture
def desk(relay: Relay, tmp_path: Path) -> Iterator[Helpdesk]:
    """A helpdesk sending through `relay`, and its config file for the command line."""
    config = (
        CONFIG.replace('name = "Support"\n', 'name = "Support"\nsla = "std"\n')
        + '[[sla]]\nname = "std"\nfirst_response = "1h"\nresolution = "100d"\n'
        + "[outgoing]\n"
        + RELAY.format(port=relay.port)
    )
    url = f"sqlite:///{tmp_path / 'mt.db'}"
    (tmp_path / "site.toml").write_text(config.format(url=url, directory=tmp_path))
    helpdesk = make_helpdesk(url, tmp_path, config=config)
    yield helpdesk
    helpdesk.app.engine.dispose()


@pytest.fixture
def relay() -> Iterator[Relay]:
    relay = Relay().up()
    yield relay
    relay.down()


def _run(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = mailtickets(
        "--config", str(directory / "site.toml"), *args, cwd=directory, env={"SECRET": SECRET}
    )
    assert done.returncode == 0, done.stderr
    return done


def _json(directory: Path, *args: str) -> Any:
    return json.loads(_run(directory, *args, "--json").stdout)


def _agent_says(desk: Helpdesk, ticket_id: int, body: str) -> None:
    with desk.app.sessions() as session:
        ticket = session.get_one(Ticket, ticket_id)
        agent_id = session.query(Agent.id).filter(Agent.address == "alice@acme.example").scalar()
        address = reply_address(desk.app.secret, ticket, agent_id, desk.clock.now())
    mail = compose(sender="alice@acme.example", to=address, subject="Re: x", body=body)
    assert desk.deliver(mail, rcpt=(address,)).outcome == "agent_reply"


def _a_ticket_with_a_past(desk: Helpdesk, relay: Relay) -> int:
    """Ana writes with Bia in Cc; the acknowledgement and Alice's notice go out; Alice
    answers, tags and raises it; the relay refuses Bia's copy for good."""
    ticket_id = desk.deliver(compose(cc="Bia <bia@example.com>")).ticket_id
    assert ticket_id is not None
    desk.send_all()
    relay.handler.rcpt_answers = {"bia@example.com": "550 5.1.1 <{address}>: User unknown"}
    _agent_says(desk, ticket_id, "#tag billing\n#priority high\n\nWe are on it.")
    desk.send_all()
    return ticket_id


def test_tickets_show_tells_who_what_and_how_each_mail_went(
    desk: Helpdesk, relay: Relay, tmp_path: Path
) -> None:
    ticket_id = _a_ticket_with_a_past(desk, relay)

    shown = _json(tmp_path, "tickets", "show", str(ticket_id))
    assert shown["tags"] == ["billing"]
    assert shown["priority"] == "high"
    assert [(p["address"], p["role"]) for p in shown["participants"]] == [
        ("ana@example.com", "requester"),
        ("bia@example.com", "cc"),
    ]
    kinds = [e["kind"] for e in shown["events"]]
    assert kinds[0] == "created"
    assert {"tagged", "priority", "message_agent", "delivery_failed"} <= set(kinds)
    for event in shown["events"]:
        assert set(event) == {"at", "kind", "actor", "data"}
    (tagged,) = [e for e in shown["events"] if e["kind"] == "tagged"]
    assert (tagged["actor"], tagged["data"]) == ("alice@acme.example", {"tag": "billing"})
    outgoing = {o["template"]: o for o in shown["outgoing"]}
    assert set(outgoing) == {
        "customer/acknowledgement",
        "agent/new_ticket",
        "customer/agent_reply",
        "agent/delivery_failed",
    }
    for out in shown["outgoing"]:
        assert set(out) >= {
            "id",
            "template",
            "recipients",
            "status",
            "held",
            "attempts",
            "last_error",
            "created_at",
            "sent_at",
            "message_id",
        }
    reply = outgoing["customer/agent_reply"]
    # Ana got it; Bia's copy was refused, and the row keeps the relay's answer.
    assert (reply["status"], reply["recipients"]) == (
        "sent",
        ["ana@example.com", "bia@example.com"],
    )
    assert reply["last_error"] == "bia@example.com: 550 5.1.1 <bia@example.com>: User unknown"
    assert outgoing["customer/acknowledgement"]["status"] == "sent"

    text = _run(tmp_path, "tickets", "show", str(ticket_id)).stdout
    lines = text.splitlines()
    assert lines[0] == f"#{ticket_id} Printer on fire"
    assert "tags: billing" in lines
    assert "participants: Ana Cliente <ana@example.com> (requester), bia@example.com (cc)" in lines
    # Outgoing mail in the conversation says to whom and how it went, never a blank entry.
    assert any(
        line.endswith("out  customer/acknowledgement to ana@example.com (sent)") for line in lines
    )
    sent_mail = lines[lines.index("outgoing mail:") + 1 : lines.index("history:") - 1]
    assert sent_mail[0].split() == ["id", "status", "template", "to", "last", "error"]
    refused = next(line for line in sent_mail if "agent/delivery_failed" in line)
    assert refused.split()[1:4] == ["sent", "agent/delivery_failed", "alice@acme.example"]
    history = lines[lines.index("history:") + 1 :]
    assert history[0].split() == ["at", "event", "by", "details"]
    assert any("tagged" in line and "alice@acme.example" in line and "tag=billing" in line
               for line in history)  # fmt: skip
    failed = next(line for line in history if " delivery_failed " in line)
    assert "reason=bia@example.com: 550 5.1.1 <bia@example.com>: User unknown" in failed


def test_lists_have_header_rows_and_json(desk: Helpdesk, relay: Relay, tmp_path: Path) -> None:
    ticket_id = _a_ticket_with_a_past(desk, relay)
    desk.deliver(b"")  # quarantined at once: an empty message

    listed = _run(tmp_path, "tickets", "list").stdout.splitlines()
    assert listed[0].split() == [
        "id",
        "status",
        "priority",
        "customer",
        "msgs",
        "updated",
        "subject",
    ]
    assert listed[1].split()[:4] == [f"#{ticket_id}", "pending", "high", "ana@example.com"]
    assert listed[-1] == "1 ticket(s)"

    (quarantined,) = _json(tmp_path, "quarantine", "list")
    assert set(quarantined) == {
        "id", "received_at", "source", "mail_from", "subject", "reason", "attempts",
    }  # fmt: skip
    assert quarantined["reason"] == "empty message (0 bytes of content)"
    text = _run(tmp_path, "quarantine", "list").stdout.splitlines()
    assert text[0].split() == ["id", "received", "source", "from", "subject", "reason"]
    assert text[-1] == "1 quarantined message(s)"
    shown = _json(tmp_path, "quarantine", "show", str(quarantined["id"]))
    assert set(shown) >= set(quarantined) | {"message_id", "rcpt_to", "headers", "raw"}
    assert (shown["rcpt_to"], shown["raw"]) == (["support@acme.example"], None)
    assert _json(tmp_path, "quarantine", "show", str(quarantined["id"]), "--raw")["raw"] == ""

    (notice,) = [o for o in desk.outbox(ticket_id) if o.template == "agent/new_ticket"]
    one = _json(tmp_path, "outbox", "show", str(notice.id))
    assert (one["id"], one["status"], one["recipients"]) == (
        notice.id,
        "sent",
        ["alice@acme.example"],
    )
    assert f"Message-ID: <{notice.message_id}>" in one["headers"]
    assert set(one) >= {"locale", "in_reply_to", "headers", "sent_at", "ticket"}
    text = _run(tmp_path, "outbox", "show", str(notice.id)).stdout.splitlines()
    assert text[:3] == [
        f"outgoing #{notice.id}: agent/new_ticket (en), ticket #{ticket_id}",
        "to: alice@acme.example",
        "status: sent after 1 attempt(s)",
    ]

    missing = mailtickets(
        "--config", str(tmp_path / "site.toml"), "outbox", "show", "999", cwd=tmp_path,
        env={"SECRET": SECRET},
    )  # fmt: skip
    assert (missing.returncode, missing.stderr) == (1, "mailtickets: no outgoing message #999\n")

    agents = _run(tmp_path, "agents", "list").stdout.splitlines()
    assert agents[0].split() == ["address", "name", "role", "state", "open", "followed", "queues"]
    assert agents[-1] == "2 agent(s)"

    state = _json(tmp_path, "status")
    assert set(state) >= {"intake", "outbox", "tickets", "mailboxes", "last_sent_at"}
    assert state["intake"]["quarantined"] == 1

    clocks = _run(tmp_path, "sla", "show", str(ticket_id)).stdout.splitlines()
    assert clocks[0] == f"#{ticket_id}: paused (waiting on the customer) (policy std)"
    assert clocks[1].split() == ["clock", "due", "business", "time", "left"]
    assert clocks[2].split()[0] == "resolution"
    report = _run(tmp_path, "sla", "report", "--since", "2026-11-01").stdout.splitlines()
    assert report[1].split()[:3] == ["queue", "priority", "tickets"]
    assert report[2].split()[:3] == ["support@acme.example", "high", "1"]

    template = _json(tmp_path, "templates", "show", "customer/acknowledgement")
    assert set(template) == {"template", "locale", "subject", "text", "html"}
    assert template["locale"] == "en" and template["subject"]
