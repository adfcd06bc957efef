"""Who joins a ticket and who its answers go to, against the real `mailtickets run`, its SMTP
listener and a real relay: what the attacks of issue 21 got before, and what they get now.

One daemon serves every test, with three queues: support@ (participants = "confirm", the
default), open@ and closed@; our MTA's authserv-id is configured, so mail without its
aligned DKIM pass is unauthenticated. Each test opens its own tickets. What is checked is what
people see: the relay's envelopes and headers, `tickets show --json`, the agents' notices.
"""

from __future__ import annotations

import json
import re
import smtplib
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import SECRET, mailtickets
from tests.support.daemon import READY_LINE, Daemon
from tests.support.mail import compose
from tests.support.relay import Relay, free_port

ALICE = "alice@acme.example"
#: What our MTA writes above a message whose From domain passed DKIM.
VOUCHED = {"Authentication-Results": "mx.acme.example; dkim=pass header.d=example.com"}
#: At most this many envelope recipients per outgoing mail, on this site.
MAX_RECIPIENTS = 8

SITE = """
[database]
url = "sqlite:///{dir}/mt.db"
[storage]
dir = "{dir}/var"
[tickets]
subject_prefix = "ACME"
secret_env = "SECRET"
[authentication]
trusted_authserv_id = "mx.acme.example"
[[queue]]
address = "support@acme.example"
[[queue]]
address = "open@acme.example"
participants = "open"
[[queue]]
address = "closed@acme.example"
participants = "closed"
[[agent]]
address = "alice@acme.example"
name = "Alice"
[[smtp]]
host = "127.0.0.1"
port = {port}
[outgoing]
host = "127.0.0.1"
port = {relay}
tls = "none"
timeout = "10s"
max_recipients = {max_recipients}
"""


@dataclass
class Site:
    dir: Path
    config: Path
    port: int
    relay: Relay
    daemon: Daemon

    def send(self, raw: bytes, *, mail_from: str, to: str = "support@acme.example") -> int:
        """Mail `raw` to the listener, wait until the daemon has processed it, and return the
        number of the ticket it went to, as the daemon's log line for it says."""
        message_id = raw.split(b"Message-ID: <", 1)[1].split(b">", 1)[0].decode()
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as client:
            # On the wire as a client sends it: CRLF line ends (smtplib sends bytes as given).
            client.sendmail(mail_from, [to], raw.replace(b"\n", b"\r\n"))
        # The worker's line, not the listener's: "intake #N: follow_up, ticket #T, message-id M".
        done = re.compile(rf"intake #\d+: \w+, ticket #(\d+), message-id {re.escape(message_id)}")
        self.daemon.wait_for(done)
        found = done.search(self.daemon.output)
        assert found is not None
        return int(found[1])

    def ticket(self, ticket_id: int) -> dict[str, Any]:
        """`tickets show --json` once every mail about the ticket has left."""
        for _ in range(100):  # each look is a CLI run: wait on the state, not the clock
            shown = self.cli("tickets", "show", str(ticket_id), "--json")
            ticket: dict[str, Any] = json.loads(shown)
            if all(out["status"] == "sent" for out in ticket["outgoing"]):
                return ticket
        raise AssertionError(f"mail about ticket #{ticket_id} still unsent: {ticket['outgoing']}")

    def cli(self, *args: str) -> str:
        done = mailtickets(
            "--config", str(self.config), *args, cwd=self.dir, env={"SECRET": SECRET}
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def received(
        self, ticket_id: int, template: str | None = None
    ) -> list[tuple[list[str], EmailMessage]]:
        """Envelope recipients and message of each mail about the ticket (of `template`)."""
        outgoing = self.ticket(ticket_id)["outgoing"]
        ids = {o["message_id"] for o in outgoing if template in (None, o["template"])}
        return [
            (r.recipients, r.message)
            for r in self.relay.received
            if str(r.message["Message-ID"]).strip("<>") in ids
        ]

    def open(
        self, customer: str, subject: str, *, to: str = "support@acme.example", **kw: Any
    ) -> int:
        """A new ticket from `customer`; its number."""
        mail = compose(sender=customer, to=to, subject=subject, **kw)
        return self.send(mail, mail_from=customer.rpartition("<")[2].strip(">"), to=to)

    def agent_says(self, ticket_id: int, body: str) -> None:
        """Alice answers her latest notice about the ticket, on the address it gave her."""
        notices = [m for to, m in self.received(ticket_id) if to == [ALICE]]
        address = str(notices[-1]["Reply-To"])
        mail = compose(sender=ALICE, to=address, subject=f"Re: [ACME #{ticket_id}]", body=body)
        self.send(mail, mail_from=ALICE, to=address)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    directory = tmp_path_factory.mktemp("participants")
    relay = Relay().up()
    port = free_port()
    config = directory / "site.toml"
    config.write_text(
        SITE.format(dir=directory, port=port, relay=relay.port, max_recipients=MAX_RECIPIENTS)
    )
    upgraded = mailtickets(
        "--config", str(config), "db", "upgrade", cwd=directory, env={"SECRET": SECRET}
    )
    assert upgraded.returncode == 0, upgraded.stderr
    with Daemon(directory, ("--config", str(config)), env={"SECRET": SECRET}) as daemon:
        daemon.wait_for(READY_LINE)
        yield Site(directory, config, port, relay, daemon)
        assert daemon.stop() == 0, daemon.output
    relay.down()


def _people(ticket: dict[str, Any]) -> dict[str, bool]:
    """Each participant's address, and whether they are pending."""
    return {p["address"]: p["pending"] for p in ticket["participants"]}


def _events(ticket: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e for e in ticket["events"] if e["kind"] == kind]


def _text(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def _answers(site: Site, ticket_id: int) -> list[list[str]]:
    """The envelope recipients of each agent's answer on the ticket, in order."""
    return [sorted(to) for to, _ in site.received(ticket_id, "customer/agent_reply")]


def test_a_forged_from_with_a_cc_makes_the_attacker_pending_never_a_recipient(site: Site) -> None:
    ticket_id = site.open("Ana <ana@example.com>", "Impressora parada")
    forged = compose(
        sender="Ana <ana@example.com>",
        cc="eve@evil.example",
        subject=f"Re: [ACME #{ticket_id}] Impressora parada",
        body="Please keep my assistant in the loop.",
    )
    site.send(forged, mail_from="eve@evil.example")
    ticket = site.ticket(ticket_id)
    assert _people(ticket) == {"ana@example.com": False, "eve@evil.example": True}
    (pending,) = _events(ticket, "participant_pending")
    assert pending["data"]["address"] == "eve@evil.example"
    assert pending["actor"] == "ana@example.com"
    # Alice is told who her answer will go to, and who waits for her.
    (notice,) = [m for to, m in site.received(ticket_id, "agent/customer_replied") if to == [ALICE]]
    assert "Will go to: ana@example.com\n" in _text(notice)
    assert "Pending:    eve@evil.example\n" in _text(notice)

    site.agent_says(ticket_id, "We are on it.")
    assert _answers(site, ticket_id) == [["ana@example.com"]]
    everyone = {a for r in site.relay.received for a in r.recipients}
    assert "eve@evil.example" not in everyone


def test_an_authenticated_customer_copies_a_colleague_who_is_mailed_at_once(site: Site) -> None:
    ticket_id = site.open("Caio <caio@example.com>", "Fatura errada")
    reply = compose(
        sender="Caio <caio@example.com>",
        cc="Dora <dora@example.com>",
        subject=f"Re: [ACME #{ticket_id}] Fatura errada",
        headers=VOUCHED,
    )
    site.send(reply, mail_from="caio@example.com")
    assert _people(site.ticket(ticket_id)) == {"caio@example.com": False, "dora@example.com": False}
    site.agent_says(ticket_id, "Corrected, see the new invoice.")
    (answer,) = site.received(ticket_id, "customer/agent_reply")
    assert sorted(answer[0]) == ["caio@example.com", "dora@example.com"]


def test_a_reply_by_the_customers_message_id_joins_as_pending_and_copies_nobody(
    site: Site,
) -> None:
    ticket_id = site.open("Edu <edu@example.com>", "Senha", message_id="edu-1@client.example")
    stranger = compose(
        sender="Mallory <mallory@example.net>",
        cc="friend@example.net",
        subject="Re: Senha",
        in_reply_to="edu-1@client.example",
        headers={"Authentication-Results": "mx.acme.example; dkim=pass header.d=example.net"},
    )
    site.send(stranger, mail_from="mallory@example.net")
    ticket = site.ticket(ticket_id)
    assert _people(ticket) == {"edu@example.com": False, "mallory@example.net": True}
    (joined,) = _events(ticket, "joined")
    assert joined["data"]["matched_by"] == "reference to <edu-1@client.example>"
    (refused,) = _events(ticket, "participants_not_added")
    assert refused["data"]["addresses"] == ["friend@example.net"]
    assert "not a confirmed participant" in refused["data"]["why"]
    # Her mail is on the ticket for the agents to read.
    assert ticket["messages"][-1]["author"].endswith("<mallory@example.net>")

    site.agent_says(ticket_id, "Your password is reset.")
    assert _answers(site, ticket_id) == [["edu@example.com"]]


def test_mail_to_the_customers_signed_reply_address_joins_as_pending(site: Site) -> None:
    ticket_id = site.open("Fabi <fabi@example.com>", "Entrega atrasada")
    (ack,) = [m for _, m in site.received(ticket_id, "customer/acknowledgement")]
    address = str(ack["Reply-To"])
    stranger = compose(sender="mallory@example.net", to=address, subject="Re: Entrega")
    site.send(stranger, mail_from="mallory@example.net", to=address)
    ticket = site.ticket(ticket_id)
    assert _people(ticket) == {"fabi@example.com": False, "mallory@example.net": True}
    (joined,) = _events(ticket, "joined")
    assert joined["data"]["matched_by"] == "reply address"


def test_a_thousand_cc_add_ten_and_an_answer_goes_to_at_most_max_recipients(site: Site) -> None:
    copied = ", ".join(f"p{n}@example.org" for n in range(1000))
    ticket_id = site.open("Gil <gil@example.com>", "Convite", cc=copied, headers=VOUCHED)
    ticket = site.ticket(ticket_id)
    people = _people(ticket)
    assert list(people) == ["gil@example.com", *(f"p{n}@example.org" for n in range(10))]
    assert not any(people.values())
    (refused,) = _events(ticket, "participants_not_added")
    assert refused["data"]["addresses"] == [f"p{n}@example.org" for n in range(10, 60)]
    assert refused["data"]["more"] == 940
    assert "max_new_participants (10)" in refused["data"]["why"]

    site.agent_says(ticket_id, "Thanks, noted.")
    ((recipients, answer),) = site.received(ticket_id, "customer/agent_reply")
    assert len(recipients) == MAX_RECIPIENTS
    assert recipients[0] == "gil@example.com"
    assert len(str(answer["To"]) + str(answer["Cc"] or "")) < 400
    (capped,) = _events(site.ticket(ticket_id), "recipients_capped")
    assert capped["data"]["left_out"] == [f"p{n}@example.org" for n in range(7, 10)]


def test_cc_add_keep_and_remove_decide_who_is_mailed(site: Site) -> None:
    ticket_id = site.open("Hugo <hugo@example.com>", "Acesso")
    unvouched = compose(
        sender="Hugo <hugo@example.com>",
        cc="ines@example.com, joao@example.com, kat@example.com",
        subject=f"Re: [ACME #{ticket_id}] Acesso",
    )
    site.send(unvouched, mail_from="hugo@example.com")
    assert _people(site.ticket(ticket_id)) == {
        "hugo@example.com": False,
        "ines@example.com": True,
        "joao@example.com": True,
        "kat@example.com": True,
    }
    site.agent_says(ticket_id, "#cc add ines@example.com\n\nInes, can you confirm?")
    assert _answers(site, ticket_id) == [["hugo@example.com", "ines@example.com"]]
    site.agent_says(ticket_id, "#cc keep\n#cc remover kat@example.com\n\nAll of you now.")
    ticket = site.ticket(ticket_id)
    assert _people(ticket) == {
        "hugo@example.com": False,
        "ines@example.com": False,
        "joao@example.com": False,
    }
    assert _answers(site, ticket_id)[1] == [
        "hugo@example.com",
        "ines@example.com",
        "joao@example.com",
    ]
    confirmed = [e["data"]["address"] for e in _events(ticket, "participant_confirmed")]
    assert confirmed == ["ines@example.com", "joao@example.com", "kat@example.com"]
    assert [e["actor"] for e in _events(ticket, "participant_removed")] == [ALICE]

    # `#history` tells the same story in the agent's mailbox.
    site.agent_says(ticket_id, "#history")
    (history,) = [m for to, m in site.received(ticket_id, "agent/history")]
    text = _text(history)
    assert "hugo@example.com: listed ines@example.com as pending" in text
    assert f"{ALICE}: confirmed joao@example.com: mailed from now on" in text
    assert f"{ALICE}: removed kat@example.com from the conversation" in text


def test_an_open_queue_mails_whoever_joins(site: Site) -> None:
    ticket_id = site.open(
        "Lia <lia@example.com>", "Pedido", to="open@acme.example", message_id="lia-1@client.example"
    )
    stranger = compose(
        sender="mallory@example.net",
        to="open@acme.example",
        subject="Re: Pedido",
        in_reply_to="lia-1@client.example",
    )
    site.send(stranger, mail_from="mallory@example.net", to="open@acme.example")
    assert _people(site.ticket(ticket_id)) == {
        "lia@example.com": False,
        "mallory@example.net": False,
    }
    site.agent_says(ticket_id, "Shipped today.")
    assert _answers(site, ticket_id) == [["lia@example.com", "mallory@example.net"]]


def test_a_closed_queue_adds_nobody_by_mail_and_an_agent_still_can(site: Site) -> None:
    ticket_id = site.open(
        "Mia <mia@example.com>",
        "Contrato",
        to="closed@acme.example",
        cc="nina@example.com",
        headers=VOUCHED,
    )
    ticket = site.ticket(ticket_id)
    assert _people(ticket) == {"mia@example.com": False}
    (refused,) = _events(ticket, "participants_not_added")
    assert refused["data"]["addresses"] == ["nina@example.com"]
    site.agent_says(ticket_id, "#cc add nina@example.com\n\nNina, please sign it too.")
    assert _answers(site, ticket_id) == [["mia@example.com", "nina@example.com"]]


def test_a_merge_keeps_a_pending_participant_pending(site: Site) -> None:
    kept = site.open("Olga <olga@example.com>", "Nota fiscal")
    merged = site.open("Olga <olga@example.com>", "Nota fiscal de novo")
    unvouched = compose(
        sender="Olga <olga@example.com>",
        cc="eve@evil.example",
        subject=f"Re: [ACME #{merged}] Nota fiscal de novo",
    )
    site.send(unvouched, mail_from="olga@example.com")
    site.agent_says(merged, f"#merge {kept}")
    assert _people(site.ticket(kept)) == {"olga@example.com": False, "eve@evil.example": True}
    site.agent_says(kept, "Both invoices are fixed.")
    assert _answers(site, kept) == [["olga@example.com"]]
