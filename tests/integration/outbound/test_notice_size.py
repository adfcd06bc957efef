"""A huge mail makes no huge notice: each agent's notice shows the start of a long text and
names a bounded number of files, and says where the rest is (`#history`)."""

from __future__ import annotations

from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

from tests.support.helpdesk import Helpdesk
from tests.support.mail import compose
from tests.support.relay import Relay

ALICE = "alice@acme.example"


def _notice(relay: Relay) -> EmailMessage:
    (notice,) = [r.message for r in relay.received if ALICE in r.recipients]
    return notice


def _text(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def test_a_long_text_is_cut_with_a_line_pointing_to_history(
    relayed: Helpdesk, relay: Relay
) -> None:
    lines = [f"line {n}: the printer shows error E-42 again" for n in range(5_000)]
    relayed.deliver(compose(body="\n".join(lines)))
    relayed.send_all()
    text = _text(_notice(relay))
    assert "line 0: the printer" in text
    assert "line 4999:" not in text
    assert "more characters; the rest: #history]" in text
    # The customer's mail is kept whole on the ticket.
    assert relayed.ticket(1)["messages"][0]["new_text"].endswith(
        "line 4999: the printer shows error E-42 again"
    )


def test_a_mail_of_300_files_names_20_beyond_those_carried(relayed: Helpdesk, relay: Relay) -> None:
    mail = message_from_bytes(compose(subject="Logs"), policy=default)
    assert isinstance(mail, EmailMessage)
    for n in range(300):
        mail.add_attachment(f"log {n}\n".encode(), "text", "plain", filename=f"log-{n:03}.txt")
    relayed.deliver(mail.as_bytes())
    relayed.send_all()
    notice = _notice(relay)
    carried = [p for p in notice.iter_attachments() if p.get_filename()]
    assert len(carried) == 100  # at most this many files ride in one mail
    text = _text(notice)
    assert "log-119.txt" in text  # the first 20 of those left behind are named
    assert "log-120.txt" not in text
    assert "… and 180 more files; the rest: #history" in text
    assert len(relayed.ticket(1)["messages"][0]["attachments"]) == 300
