"""`contacts export` hands one person everything about them and nothing about anyone else;
`contacts erase` leaves no trace of them in any column of any table nor in any file, while
their tickets still count."""

from __future__ import annotations

import json
import mailbox
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
from sqlalchemy import MetaData, Table, inspect, select
from sqlalchemy.engine import Engine

from mailtickets.db.models import Ticket
from mailtickets.mail.ratings import Rating
from mailtickets.services.satisfaction import rate
from tests.support.cli import SECRET, mailtickets
from tests.support.helpdesk import CONFIG, Helpdesk, make_helpdesk
from tests.support.mail import compose

ANA = "Ana Cliente <ana@example.com>"
#: What only Ana wrote or sent; none of it may survive her erasure.
ANA_TRACES = (
    "ana@example.com",
    "Ana Cliente",
    "ZX-ANA-7781",
    "ANA-ON-CARLA-9999",
    "ANA-FOLLOW-UP-3141",
    "ANA-ATTACHMENT-BYTES",
    "ANA-RATING-COMMENT-2718",
)
#: Other people's data: never in Ana's export, untouched by her erasure.
BOB_TEXT, CARLA_TEXT = "BOB-SECRET-4242", "CARLA-PRIVATE-5555"


@dataclass
class Desk:
    helpdesk: Helpdesk
    config: Path
    directory: Path

    def cli(self, *args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
        result = mailtickets(
            "--config",
            str(self.config),
            *args,
            cwd=self.directory,
            env={"SECRET": SECRET},
            stdin=stdin,
        )
        assert "Traceback" not in result.stderr
        return result.returncode, result.stdout, result.stderr


def _with_attachment(raw: bytes) -> bytes:
    message = message_from_bytes(raw, policy=default)
    assert isinstance(message, EmailMessage)
    message.add_attachment(
        b"%PDF-1.4 ANA-ATTACHMENT-BYTES", maintype="application", subtype="pdf", filename="a.pdf"
    )
    return message.as_bytes()


def _agent_reply_address(desk: Helpdesk, agent: str) -> str:
    desk.send_all()
    box = mailbox.Maildir(desk.app.settings.outgoing.maildir, create=False)
    notices = [message_from_bytes(box.get_bytes(k), policy=default) for k in box.iterkeys()]
    notice = [n for n in notices if agent in str(n["To"])][-1]
    return str(notice["Reply-To"].addresses[0].addr_spec)


@pytest.fixture
def desk(database_url: str, tmp_path: Path) -> Iterator[Desk]:
    """Ana's ticket (with an attachment, an agent's answer and her follow-up), her mail held
    as spam, Bob's ticket, and Carla's ticket on which Ana is copied and writes."""
    helpdesk = make_helpdesk(database_url, tmp_path)
    first = helpdesk.deliver(
        _with_attachment(
            compose(
                sender=ANA,
                subject="Printer ZX-ANA-7781 smokes",
                body="My printer ZX-ANA-7781 smokes.",
                message_id="ana-1@client.example",
            )
        ),
        mail_from="ana@example.com",
    )
    assert first.ticket_id == 1
    reply_to = _agent_reply_address(helpdesk, "alice@acme.example")
    helpdesk.deliver(
        compose(sender="Alice <alice@acme.example>", to=reply_to, body="Unplug it, Ana."),
        rcpt=(reply_to,),
        mail_from="alice@acme.example",
    )
    helpdesk.deliver(
        compose(sender=ANA, body="ANA-FOLLOW-UP-3141", in_reply_to="ana-1@client.example"),
        mail_from="ana@example.com",
    )
    held = helpdesk.deliver(
        compose(sender=ANA, subject="Another", headers={"X-Spam-Flag": "YES"}), mail_from=None
    )
    assert held.error and held.error.startswith("spam:")
    bob = helpdesk.deliver(
        compose(sender="Bob Outro <bob@example.org>", subject="Bob", body=BOB_TEXT),
        mail_from="bob@example.org",
    )
    carla = helpdesk.deliver(
        compose(
            sender="Carla <carla@example.net>",
            cc=ANA,
            body=CARLA_TEXT,
            message_id="carla-1@client.example",
        ),
        mail_from="carla@example.net",
    )
    ana_on_carla = helpdesk.deliver(
        compose(sender=ANA, body="ANA-ON-CARLA-9999", in_reply_to="carla-1@client.example"),
        mail_from="ana@example.com",
    )
    assert (bob.ticket_id, carla.ticket_id, ana_on_carla.ticket_id) == (2, 3, 3)
    with helpdesk.app.sessions.begin() as session:
        ticket = session.get_one(Ticket, 1)
        comment = Rating(2, "ANA-RATING-COMMENT-2718")
        rate(session, ticket, ticket.contact, comment, helpdesk.app.clock.now())
    helpdesk.send_all()
    config = tmp_path / "site.toml"
    config.write_text(CONFIG.format(url=database_url, directory=tmp_path))
    yield Desk(helpdesk, config, tmp_path)
    helpdesk.app.engine.dispose()


def test_export_has_everything_about_one_customer_and_nothing_about_another(desk: Desk) -> None:
    code, out, err = desk.cli(
        "contacts", "export", "ana@example.com", "--output", str(desk.directory / "ana.zip")
    )
    assert code == 0, err
    assert "2 ticket(s)" in out
    with zipfile.ZipFile(desk.directory / "ana.zip") as archive:
        names = archive.namelist()
        everything = b"".join(archive.read(n) for n in names)
        contact = json.loads(archive.read("contact.json"))
        tickets = json.loads(archive.read("tickets.json"))
        attachment = archive.read(tickets[0]["messages"][0]["attachments"][0]["file"])
    assert contact["address"] == "ana@example.com" and contact["name"] == "Ana Cliente"
    assert [(t["id"], t["role"]) for t in tickets] == [(1, "requester"), (3, "participant")]
    texts = [m["new_text"] for t in tickets for m in t["messages"]]
    assert any("ZX-ANA-7781" in t for t in texts)
    assert "Unplug it, Ana." in texts  # the agent's answer she received
    assert "ANA-FOLLOW-UP-3141" in texts and "ANA-ON-CARLA-9999" in texts
    assert attachment == b"%PDF-1.4 ANA-ATTACHMENT-BYTES"
    assert tickets[0]["satisfaction"]["comment"] == "ANA-RATING-COMMENT-2718"
    assert tickets[1]["satisfaction"] is None, "Carla's ticket was not rated by Ana"
    # Her raw mails: three on tickets and the one held as spam; what we sent her.
    assert len([n for n in names if n.startswith("received/")]) == 4
    sent = [n for n in names if n.startswith("sent/")]
    assert sent and all(b"ana@example.com" in archive_bytes(desk, n) for n in sent)
    for other in (b"bob@example.org", BOB_TEXT.encode(), CARLA_TEXT.encode(), b"Bob Outro"):
        assert other not in everything


def archive_bytes(desk: Desk, name: str) -> bytes:
    with zipfile.ZipFile(desk.directory / "ana.zip") as archive:
        return archive.read(name)


def _traces_in_database(engine: Engine, needles: tuple[str, ...]) -> list[str]:
    """Every table.column (reflected: every table there is) holding one of `needles`."""
    found = []
    metadata = MetaData()
    with engine.connect() as connection:
        for name in inspect(connection).get_table_names():
            table = Table(name, metadata, autoload_with=connection)
            for row in connection.execute(select(table)):
                for column, value in row._mapping.items():
                    if value is None:
                        continue
                    if isinstance(value, bytes | memoryview):
                        text = bytes(value).decode("latin-1")
                    elif isinstance(value, dict | list):
                        text = json.dumps(value, ensure_ascii=False)
                    else:
                        text = str(value)
                    found += [f"{name}.{column}: {n}" for n in needles if n.lower() in text.lower()]
    return found


def _traces_in_files(directory: Path, needles: tuple[str, ...]) -> list[str]:
    found = []
    for path in directory.rglob("*"):
        if path.is_file():
            data = path.read_bytes().lower()
            found += [f"{path.name}: {n}" for n in needles if n.lower().encode() in data]
    return found


def test_erase_leaves_no_trace_and_the_tickets_still_count(desk: Desk, database_url: str) -> None:
    engine = desk.helpdesk.app.engine
    assert _traces_in_database(engine, ANA_TRACES)  # the search finds what is there
    report = ("sla", "report", "--since", "2026-01-01", "--json")
    before = desk.cli(*report)[1]
    csat = ("report", "csat", "--since", "2026-01-01", "--json")
    csat_before = desk.cli(*csat)[1]

    code, _, _ = desk.cli("contacts", "erase", "ana@example.com", stdin=b"n\n")
    assert code == 1  # not confirmed: nothing happens
    assert desk.helpdesk.ticket(1)["customer"] == "ana@example.com"

    code, out, err = desk.cli("contacts", "erase", "ana@example.com", "--yes")
    assert code == 0, err
    assert out.startswith("ana@example.com: erased from 1 ticket(s) opened")
    assert _traces_in_database(engine, ANA_TRACES) == []
    # The outbox maildir, and on SQLite the database file and its log, hold no copy either.
    assert _traces_in_files(desk.directory, ANA_TRACES) == []
    # Other people keep everything.
    assert BOB_TEXT in desk.helpdesk.ticket(2)["messages"][0]["new_text"]
    assert CARLA_TEXT in desk.helpdesk.ticket(3)["messages"][0]["new_text"]
    # Every ticket still counts, with its queue, status and number of messages.
    after = desk.cli(*report)[1]
    assert json.loads(after) == json.loads(before)
    assert json.loads(desk.cli(*csat)[1]) == json.loads(csat_before), "her score still counts"
    assert sum(row["tickets"] for row in json.loads(after)) == 3
    code, out, _ = desk.cli("tickets", "list", "--json")
    tickets = json.loads(out)
    assert [(t["id"], t["queue"], t["messages"]) for t in tickets] == [
        (1, "support@acme.example", 3),
        (2, "support@acme.example", 1),
        (3, "support@acme.example", 2),
    ]
    assert tickets[0]["customer"].endswith("@erased.invalid")
    assert tickets[0]["subject"] == "(erased)"
    # She may write again: a new contact, a new ticket.
    again = desk.helpdesk.deliver(compose(sender=ANA, subject="Back"))
    assert again.outcome == "new_ticket"


def test_someone_whose_only_mail_was_held_as_spam_can_be_exported_and_erased(desk: Desk) -> None:
    held = desk.helpdesk.deliver(
        compose(sender="Dora <dora@example.com>", body="DORA-ONLY-1618", headers={"X-Spam": "yes"}),
        mail_from="dora@example.com",
    )
    assert held.error and held.error.startswith("spam:")
    target = desk.directory / "dora.zip"
    code, _, err = desk.cli("contacts", "export", "dora@example.com", "--output", str(target))
    assert code == 0, err
    with zipfile.ZipFile(target) as archive:
        assert json.loads(archive.read("contact.json")) == {"address": "dora@example.com"}
        (received,) = [n for n in archive.namelist() if n.startswith("received/")]
        assert b"DORA-ONLY-1618" in archive.read(received)
    target.unlink()
    code, _, err = desk.cli("contacts", "erase", "dora@example.com", "--yes")
    assert code == 0, err
    engine = desk.helpdesk.app.engine
    assert _traces_in_database(engine, ("dora@example.com", "DORA-ONLY-1618")) == []
    unknown = desk.cli("contacts", "erase", "nobody@example.com", "--yes")
    assert unknown[0] == 1
    assert unknown[2].strip() == ("mailtickets: no contact nobody@example.com and no mail from it")
