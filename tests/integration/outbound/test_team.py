"""A team by email: followers, absence (by command and by out-of-office reply), cover by the
managers, and each agent's "My tickets" mail, through a real relay."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from mailtickets.services.my_tickets import send_my_tickets
from mailtickets.services.sla.sweep import sweep
from mailtickets.services.team import team
from tests.support.helpdesk import Helpdesk, make_helpdesk
from tests.support.mail import compose
from tests.support.relay import Relay

CONFIG = """
[database]
url = "{url}"
[storage]
dir = "{directory}"
[tickets]
subject_prefix = "ACME"
secret_env = "SECRET"
max_acknowledgements_per_hour = 100
[scheduler]
digest_at = "07:00"
[[queue]]
address = "support@acme.example"
name = "Support"
[[agent]]
address = "alice@acme.example"
name = "Alice"
digest = "daily"
[[agent]]
address = "bruno@acme.example"
name = "Bruno"
[[agent]]
address = "carla@acme.example"
name = "Carla"
role = "manager"
"""
ALICE, BRUNO, CARLA = "alice@acme.example", "bruno@acme.example", "carla@acme.example"
OUT_OF_OFFICE = (
    "#status closed\n\n"
    "I am out of the office until 16/11/2026 with no access to email.\n"
    "For urgent matters, please write to support@acme.example.\n"
)


@pytest.fixture
def desk(relay: Relay, tmp_path: Path) -> Iterator[Helpdesk]:
    extra = f'[outgoing]\nhost = "127.0.0.1"\nport = {relay.port}\ntls = "none"\n'
    helpdesk = make_helpdesk(f"sqlite:///{tmp_path / 'mailtickets.db'}", tmp_path, extra, CONFIG)
    yield helpdesk
    helpdesk.app.engine.dispose()


def _to(relay: Relay, address: str) -> list[EmailMessage]:
    return [r.message for r in relay.received if address in r.recipients]


def _text(mail: EmailMessage) -> str:
    body = mail.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def _open(desk: Helpdesk, customer: str = "ana@example.com", subject: str = "Printer") -> int:
    result = desk.deliver(compose(sender=customer, subject=subject), mail_from=customer)
    assert result.ticket_id is not None
    return result.ticket_id


def _customer_replies(desk: Helpdesk, ticket_id: int, body: str) -> str | None:
    customer = str(desk.ticket(ticket_id)["customer"])
    address = desk.reply_address(ticket_id, customer, "customer/acknowledgement")
    mail = compose(sender=customer, to=address, subject="Re: Printer", body=body)
    return desk.deliver(mail, rcpt=(address,), mail_from=customer).outcome


def _state(desk: Helpdesk) -> dict[str, tuple[str, str | None, int, int]]:
    with desk.app.sessions() as session:
        rows = team(session, desk.app.settings.agents, desk.app.settings.queues, desk.clock.now())
    return {r["address"]: (r["state"], r["away_until"], r["open"], r["followed"]) for r in rows}


def _flush(desk: Helpdesk, relay: Relay) -> None:
    desk.send_all()
    relay.received.clear()


def test_followers_hear_every_reply_until_they_unfollow(desk: Helpdesk, relay: Relay) -> None:
    ticket_id = _open(desk)
    _flush(desk, relay)
    assert desk.agent_says(ticket_id, "#assign me", ALICE).outcome == "commands"
    assert desk.agent_says(ticket_id, "#follow", BRUNO).outcome == "commands"
    _flush(desk, relay)

    assert _customer_replies(desk, ticket_id, "It smokes now.") == "follow_up"
    desk.send_all()
    assert "It smokes now." in _text(_to(relay, ALICE)[-1])
    assert "It smokes now." in _text(_to(relay, BRUNO)[-1])
    assert _to(relay, CARLA) == []  # assigned: the rest of the queue hears no more
    relay.received.clear()

    assert desk.agent_says(ticket_id, "Unplug it, please.", ALICE).outcome == "agent_reply"
    desk.send_all()
    (answer,) = _to(relay, "ana@example.com")
    assert "Unplug it, please." in _text(answer)
    (told,) = _to(relay, BRUNO)
    assert "Unplug it, please." in _text(told)
    assert "Alice <alice@acme.example>" in _text(told)
    assert _to(relay, ALICE) == [] and _to(relay, CARLA) == []
    relay.received.clear()
    # A second answer before the customer writes again: the follower is told as of the first.
    assert desk.agent_says(ticket_id, "And check the fuse.", ALICE).outcome == "agent_reply"
    desk.send_all()
    (told,) = _to(relay, BRUNO)
    assert str(told["Subject"]).startswith(f"[ACME #{ticket_id}] Answered:")
    assert "Alice <alice@acme.example> answered ticket" in _text(told)
    assert "And check the fuse." in _text(told)
    relay.received.clear()

    assert desk.agent_says(ticket_id, "#unfollow", BRUNO).outcome == "commands"
    assert _customer_replies(desk, ticket_id, "Unplugged.") == "follow_up"
    desk.send_all()
    assert _to(relay, BRUNO) == []
    assert "Unplugged." in _text(_to(relay, ALICE)[-1])
    kinds = [e.kind for e in desk.events(ticket_id) if e.kind in ("followed", "unfollowed")]
    assert kinds == ["followed", "unfollowed"]


def test_a_manager_makes_another_agent_follow_and_an_agent_cannot(
    desk: Helpdesk, relay: Relay
) -> None:
    ticket_id = _open(desk)
    _flush(desk, relay)
    assert desk.agent_says(ticket_id, "#follow bruno@acme.example", CARLA).outcome == "commands"
    refused = desk.agent_says(ticket_id, "#follow carla@acme.example", BRUNO)
    assert refused.outcome == "command_error"
    desk.send_all()
    (error,) = _to(relay, BRUNO)
    assert "only a manager can make another agent follow a ticket" in _text(error)
    assert _state(desk)[BRUNO][3] == 1
    assert _state(desk)[CARLA][3] == 0


def test_a_customer_who_writes_follow_is_told_it_is_for_the_team(
    desk: Helpdesk, relay: Relay
) -> None:
    ticket_id = _open(desk)
    _flush(desk, relay)
    assert _customer_replies(desk, ticket_id, "#follow\n\nAlso, the fax is broken.") == (
        "follow_up"
    )
    desk.send_all()
    (answer,) = _to(relay, "ana@example.com")
    assert "commands for our support team only, so they changed nothing" in _text(answer)
    assert "#follow" in _text(answer)
    assert all(followed == 0 for *_, followed in _state(desk).values())
    assert [e.kind for e in desk.events(ticket_id, "followed")] == []
    # Her mail is on the ticket and the agents hear of it as of any reply.
    assert "Also, the fax is broken." in _text(_to(relay, ALICE)[-1])


def test_away_by_command_covers_the_agents_tickets_and_back_ends_it(
    desk: Helpdesk, relay: Relay
) -> None:
    ticket_id = _open(desk)
    _flush(desk, relay)
    desk.agent_says(ticket_id, "#assign me", ALICE)

    # Bad dates change nothing and say why.
    assert desk.agent_says(ticket_id, "#away until 2026-10-01", ALICE).outcome == "command_error"
    assert desk.agent_says(ticket_id, "#away until soon", ALICE).outcome == "command_error"
    desk.send_all()
    errors = [_text(m) for m in _to(relay, ALICE)]
    assert "#away until 2026-10-01: 2026-10-01 is not in the future" in errors[0]
    assert '"#away" takes nothing, or until a date such as 2026-12-24' in errors[1]
    assert _state(desk)[ALICE][0] == "available"
    relay.received.clear()

    assert desk.agent_says(ticket_id, "#away until 2026-11-20", ALICE).outcome == "commands"
    desk.send_all()
    (confirmed,) = _to(relay, ALICE)
    assert confirmed["Subject"] == "You are away until 2026-11-20"
    assert _state(desk)[ALICE][:2] == ("away", "2026-11-20T00:00:00+00:00")
    relay.received.clear()

    # Her customer's reply reaches her and the manager, not the other agents.
    _customer_replies(desk, ticket_id, "Any news?")
    desk.send_all()
    assert len(_to(relay, ALICE)) == len(_to(relay, CARLA)) == 1
    assert _to(relay, BRUNO) == []
    relay.received.clear()

    assert desk.agent_says(ticket_id, "#back", ALICE).outcome == "commands"
    _customer_replies(desk, ticket_id, "Hello?")
    desk.send_all()
    assert _to(relay, ALICE)[0]["Subject"] == "You are back"
    assert _to(relay, CARLA) == []
    assert _state(desk)[ALICE][0] == "available"


def test_away_on_the_plain_address_is_not_proof(desk: Helpdesk, relay: Relay) -> None:
    mail = compose(sender=f"Alice <{ALICE}>", subject="away", body="#away until 2026-11-20\n")
    assert desk.deliver(mail, mail_from=ALICE).outcome == "not_recorded"
    desk.send_all()
    (told,) = _to(relay, ALICE)
    assert "does not prove it is yours" in _text(told)
    assert _state(desk)[ALICE][0] == "available"


def _out_of_office(desk: Helpdesk, relay: Relay, agent: str, body: str) -> str | None:
    """The agent's Exchange answers the last notice it got, as Exchange does."""
    notice = _to(relay, agent)[-1]
    mail = compose(
        sender=f"Agent <{agent}>",
        to=str(notice["From"]),
        subject=f"Automatic reply: {notice['Subject']}",
        in_reply_to=str(notice["Message-ID"]).strip("<>"),
        body=body,
        headers={"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"},
    )
    return desk.deliver(mail, rcpt=("support@acme.example",), mail_from=agent).outcome


def test_an_exchange_auto_reply_marks_the_agent_away_and_runs_nothing(
    desk: Helpdesk, relay: Relay
) -> None:
    ticket_id = _open(desk)
    desk.send_all()
    assert _out_of_office(desk, relay, ALICE, OUT_OF_OFFICE) == "auto_reply"
    assert desk.ticket(ticket_id)["status"] == "open"  # its #status line ran nothing
    assert _state(desk)[ALICE][:2] == ("away", "2026-11-16T00:00:00+00:00")
    relay.received.clear()
    desk.send_all()
    (told,) = _to(relay, ALICE)
    assert told["Subject"] == "Your automatic reply marked you away until 2026-11-16"
    assert _to(relay, "ana@example.com") == []
    assert [e.data["until"] for e in desk.events(ticket_id, "agent_away")] == ["2026-11-16"]

    # Her robot answers the next notice too: she is told once.
    _customer_replies(desk, ticket_id, "Any news?")
    desk.send_all()
    assert _out_of_office(desk, relay, ALICE, OUT_OF_OFFICE) == "auto_reply"
    relay.received.clear()
    desk.send_all()
    assert _to(relay, ALICE) == []


def test_an_out_of_office_that_names_no_date_lasts_until_the_agent_acts(
    desk: Helpdesk, relay: Relay
) -> None:
    ticket_id = _open(desk)
    desk.send_all()
    body = "Thank you for your message. I am away with limited access to email.\n"
    assert _out_of_office(desk, relay, BRUNO, body) == "auto_reply"
    relay.received.clear()
    desk.send_all()
    (told,) = _to(relay, BRUNO)
    assert "It names no date we could read" in _text(told)
    assert _state(desk)[BRUNO][:2] == ("away", None)

    assert desk.agent_says(ticket_id, "#tag printer", BRUNO).outcome == "commands"
    assert _state(desk)[BRUNO][:2] == ("available", None)


def test_my_tickets_lists_open_work_oldest_first_with_addresses_that_act(
    desk: Helpdesk, relay: Relay
) -> None:
    ids = []
    for n, customer in enumerate(("ana@example.com", "rui@example.com", "eva@example.com")):
        ids.append(_open(desk, customer, subject=f"Request {n}"))
        desk.clock.advance(timedelta(hours=1))
    desk.send_all()
    for ticket_id in ids:
        desk.agent_says(ticket_id, "#assign me", ALICE)
    desk.agent_says(ids[2], "#resolve", ALICE)
    _flush(desk, relay)

    assert send_my_tickets(desk.app.sessions, desk.app.sla, desk.clock.now()) == 1
    desk.send_all()
    (mail,) = _to(relay, ALICE)
    text = _text(mail)
    assert mail["Subject"] == "Your tickets on 2026-11-02: 2 open or waiting"
    assert text.index(f"#{ids[0]} [open] Request 0") < text.index(f"#{ids[1]} [open] Request 1")
    assert "Request 2" not in text
    assert "last:     ana@example.com: Hello, the printer is on fire. Ana" in text
    # Answering from the list acts on that ticket.
    lines = text.splitlines()
    start = lines.index(f"#{ids[1]} [open] Request 1")
    address = next(line for line in lines[start:] if "reply to:" in line).split()[-1]
    relay.received.clear()
    answer = compose(sender=f"Alice <{ALICE}>", to=address, subject="Re: list", body="Done.")
    assert desk.deliver(answer, rcpt=(address,), mail_from=ALICE).outcome == "agent_reply"
    desk.send_all()
    (reply,) = _to(relay, "rui@example.com")
    assert "Done." in _text(reply)


def test_an_away_agents_sla_warnings_also_reach_the_manager(relay: Relay, tmp_path: Path) -> None:
    site = CONFIG.replace('name = "Support"\n', 'name = "Support"\nsla = "std"\n')
    extra = (
        f'[outgoing]\nhost = "127.0.0.1"\nport = {relay.port}\ntls = "none"\n'
        '[[sla]]\nname = "std"\nfirst_response = "1h"\nwarn_at = 0.5\n'
    )
    desk = make_helpdesk(f"sqlite:///{tmp_path / 'mailtickets.db'}", tmp_path, extra, site)
    ticket_id = _open(desk)
    desk.agent_says(ticket_id, "#assign me", BRUNO)
    desk.agent_says(ticket_id, "#away", BRUNO)
    _flush(desk, relay)
    desk.clock.advance(timedelta(minutes=40))
    assert sweep(desk.app.sessions, desk.app.sla, desk.clock.now()) == 1
    desk.send_all()
    warned = [r.recipients for r in relay.received]
    assert sorted(a for recipients in warned for a in recipients) == [BRUNO, CARLA]
    desk.app.engine.dispose()


def test_away_on_the_plain_address_counts_in_strict_mode_with_an_aligned_pass(
    relay: Relay, tmp_path: Path
) -> None:
    extra = (
        f'[outgoing]\nhost = "127.0.0.1"\nport = {relay.port}\ntls = "none"\n'
        '[authentication]\nrequire_for_agents = true\ntrusted_authserv_id = "mx.acme.example"\n'
    )
    desk = make_helpdesk(f"sqlite:///{tmp_path / 'mailtickets.db'}", tmp_path, extra, CONFIG)
    verdict = b"Authentication-Results: mx.acme.example; dkim=pass header.d=acme.example\r\n"

    def away(body: str) -> str | None:
        mail = compose(sender=f"Alice <{ALICE}>", subject="away", body=body)
        return desk.deliver(verdict + mail, mail_from=ALICE).outcome

    assert away("#away until 2026-10-01\n") == "command_error"
    assert _state(desk)[ALICE][0] == "available"
    assert away("#away until 2026-11-20\n") == "commands"
    assert _state(desk)[ALICE][:2] == ("away", "2026-11-20T00:00:00+00:00")
    desk.send_all()
    refused, confirmed = _to(relay, ALICE)
    assert "2026-10-01 is not in the future" in _text(refused)
    assert confirmed["Subject"] == "You are away until 2026-11-20"
    desk.app.engine.dispose()


def test_an_auto_reply_answering_mail_the_agent_never_had_changes_nothing(
    desk: Helpdesk, relay: Relay
) -> None:
    _open(desk)
    desk.send_all()
    notice = _to(relay, ALICE)[-1]
    # From Bruno's address, but answering Alice's notice: anyone could write that.
    forged = compose(
        sender=f"Bruno <{BRUNO}>",
        to="support@acme.example",
        subject=f"Automatic reply: {notice['Subject']}",
        in_reply_to=str(notice["Message-ID"]).strip("<>"),
        body=OUT_OF_OFFICE,
        headers={"Auto-Submitted": "auto-replied"},
    )
    assert desk.deliver(forged, mail_from=BRUNO).outcome == "auto_reply"
    assert _state(desk)[BRUNO][0] == "available"
    relay.received.clear()
    desk.send_all()
    assert _to(relay, BRUNO) == []


def test_without_a_manager_the_other_agents_cover(relay: Relay, tmp_path: Path) -> None:
    extra = f'[outgoing]\nhost = "127.0.0.1"\nport = {relay.port}\ntls = "none"\n'
    site = CONFIG.replace('role = "manager"\n', "")
    desk = make_helpdesk(f"sqlite:///{tmp_path / 'mailtickets.db'}", tmp_path, extra, site)
    ticket_id = _open(desk)
    desk.agent_says(ticket_id, "#assign me", ALICE)
    desk.agent_says(ticket_id, "#away", ALICE)
    _flush(desk, relay)
    _customer_replies(desk, ticket_id, "Any news?")
    desk.send_all()
    assert sorted(a for r in relay.received for a in r.recipients) == [ALICE, BRUNO, CARLA]
    desk.app.engine.dispose()
