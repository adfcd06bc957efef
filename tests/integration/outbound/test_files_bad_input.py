"""Files and HTML nobody should send: each gets a clear result, and nothing of another ticket
leaks into anyone's mail."""

from __future__ import annotations

import base64
import re
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from mailtickets.db.models import Attachment
from mailtickets.errors import TemporaryFailure
from mailtickets.outbound import files as outgoing_files
from mailtickets.outbound.transport import transport_for
from mailtickets.outbox.attachments import MAX_FILES
from tests.support.files import File, pdf, png, with_files
from tests.support.helpdesk import Helpdesk
from tests.support.mail import compose
from tests.support.relay import Relay

ALICE, ANA = "alice@acme.example", "ana@example.com"


def _to(relay: Relay, address: str) -> list[EmailMessage]:
    return [r.message for r in relay.received if address in r.recipients]


def _files(message: EmailMessage) -> list[EmailMessage]:
    found = []
    for part in message.walk():
        if part.get_content_disposition() in ("attachment", "inline"):
            assert isinstance(part, EmailMessage)
            found.append(part)
    return found


def _text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def _html(message: EmailMessage) -> str:
    body = message.get_body(("html",))
    assert body is not None
    return str(body.get_content())


def _mime(parts: list[tuple[str, bytes]], subject: str = "Files") -> bytes:
    """A multipart/mixed message from raw part headers and bodies, as a hostile client
    would write it (the stdlib refuses to build some of these headers)."""
    boundary = "b0undary"
    head = (
        "From: Ana Cliente <ana@example.com>\r\nTo: support@acme.example\r\n"
        f"Subject: {subject}\r\nMessage-ID: <{len(parts)}.files@client.example>\r\n"
        f'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'
    ).encode()
    body = b"".join(
        f"--{boundary}\r\n{headers}\r\n\r\n".encode() + content + b"\r\n"
        for headers, content in [("Content-Type: text/plain", b"See the files."), *parts]
    )
    return head + body + f"--{boundary}--\r\n".encode()


def _file(headers: str, content: bytes) -> tuple[str, bytes]:
    return f"{headers}\r\nContent-Transfer-Encoding: base64", base64.encodebytes(content)


def test_hostile_file_names_reach_agents_as_plain_names(relayed: Helpdesk, relay: Relay) -> None:
    mail = _mime(
        [
            _file(
                "Content-Type: text/plain\r\n"
                'Content-Disposition: attachment; filename="../../etc/passwd"',
                b"root:x:0:0",
            ),
            _file(
                "Content-Type: application/pdf\r\nContent-Disposition: attachment; "
                "filename*=utf-8''evil%0D%0ABcc%3A%20eve%40evil.example%0D%0A.pdf",
                pdf(),
            ),
            _file(
                "Content-Type: application/pdf\r\nContent-Disposition: attachment; "
                "filename*=utf-8''invoice%E2%80%AEfdp.exe",
                pdf(),
            ),
            _file(
                "Content-Type: application/pdf\r\nContent-Disposition: attachment; "
                'filename="<script>alert(1)</script>.pdf"',
                pdf(),
            ),
        ]
    )
    relayed.deliver(mail)
    relayed.send_all()
    (received,) = [r for r in relay.received if ALICE in r.recipients]
    assert received.recipients == [ALICE]
    assert b"\r\nBcc:" not in received.raw and b"\nBcc:" not in received.raw
    notice = received.message
    names = [str(p.get_filename()) for p in _files(notice)]
    assert names == [
        "passwd",
        "evil_Bcc_ eve@evil.example_.pdf",
        "invoice_fdp.exe",
        "script_.pdf",  # "/" ends a path: only the last part is a name
    ]
    for name in names:
        assert not re.search(r"[/\\<>\x00-\x1f\u202e]", name), name
    assert "<script>" not in _html(notice)


def test_a_thousand_tiny_files_come_a_hundred_a_mail(relayed: Helpdesk, relay: Relay) -> None:
    parts = [
        (
            f'Content-Type: text/plain\r\nContent-Disposition: attachment; filename="f{n:04}.txt"',
            f"{n}".encode(),
        )
        for n in range(1000)
    ]
    result = relayed.deliver(_mime(parts))
    assert result.outcome == "new_ticket" and result.ticket_id is not None
    stored = [a for m in relayed.ticket(result.ticket_id)["messages"] for a in m["attachments"]]
    # The parser reads a bounded number of MIME parts; what it read is kept, and said so.
    assert 400 < len(stored) < 1000
    relayed.send_all()
    (notice,) = _to(relay, ALICE)
    assert len(_files(notice)) == MAX_FILES
    assert 'Reply "#files" to get every file of the ticket' in _text(notice)
    relayed.agent_says(result.ticket_id, "#files")
    relayed.send_all()
    answers = _to(relay, ALICE)[1:]
    assert len(answers) == -(-len(stored) // MAX_FILES)
    names = [str(p.get_filename()) for a in answers for p in _files(a)]
    assert sorted(names) == sorted(a["filename"] for a in stored)


def test_an_empty_file_a_wrong_type_and_a_cid_that_points_nowhere(
    relayed: Helpdesk, relay: Relay
) -> None:
    fake_png = pdf("not an image")
    mail = with_files(
        files=(
            File("empty.txt", "text/plain", b""),
            File("page.html", "text/html", b"<script>alert(1)</script>"),
            File("photo.png", "image/png", fake_png, content_id="fake@ana.example"),
            File("real.png", "image/png", png(), content_id="real@ana.example"),
        ),
        html='<p>See <img src="cid:nowhere@ana.example"> and <img src="cid:real@ana.example"></p>',
    )
    relayed.deliver(mail)
    relayed.send_all()
    (notice,) = _to(relay, ALICE)
    parts = {str(p.get_filename()): p for p in _files(notice)}
    assert parts["empty.txt"].get_payload(decode=True) == b""
    assert "empty.txt (0 bytes)" in _text(notice)
    assert parts["page.html"].get_content_type() == "application/octet-stream"
    # A "PNG" that is a PDF is attached, not shown; the real one is shown in place.
    assert parts["photo.png"].get_content_disposition() == "attachment"
    assert parts["photo.png"].get_payload(decode=True) == fake_png
    assert parts["real.png"].get_content_disposition() == "inline"
    shown = set(re.findall(r'src="cid:([^"]+)"', _html(notice)))
    content_ids = {str(p["Content-ID"]).strip("<>") for p in _files(notice) if p["Content-ID"]}
    assert shown == {str(parts["real.png"]["Content-ID"]).strip("<>")}
    assert shown <= content_ids


def _answer(
    desk: Helpdesk, ticket_id: int, html: str, text: str, files: tuple[File, ...] = ()
) -> str:
    address = desk.reply_address(ticket_id, ALICE)
    raw = compose(sender=f"Alice <{ALICE}>", to=address, subject="Re: x", body=text)
    result = desk.deliver(with_files(raw, files=files, html=html), rcpt=(address,), mail_from=ALICE)
    return str(result.outcome)


def test_an_agents_image_that_points_nowhere_is_dropped_with_its_alt_text(
    relayed: Helpdesk, relay: Relay
) -> None:
    ticket_id = relayed.deliver(compose()).ticket_id
    assert ticket_id is not None
    relayed.send_all()
    html = '<p>Like this:</p><p><img src="cid:missing@alice" alt="the wiring diagram"></p>'
    assert _answer(relayed, ticket_id, html, "Like this:") == "agent_reply"
    relayed.send_all()
    (answer,) = _to(relay, ANA)[1:]
    assert "cid:" not in _html(answer)
    assert "the wiring diagram" in _html(answer)
    assert _files(answer) == []


def test_five_megabytes_of_agent_html_sends_the_agents_text(
    relayed: Helpdesk, relay: Relay
) -> None:
    ticket_id = relayed.deliver(compose()).ticket_id
    assert ticket_id is not None
    relayed.send_all()
    bloat = '<span style="mso-bidi-font-family:Calibri"></span>' * (5_000_000 // 50)
    html = f"<p>Please restart the printer.</p>{bloat}<script>alert(1)</script>"
    assert len(html) > 5_000_000
    assert _answer(relayed, ticket_id, html, "Please restart the printer.") == "agent_reply"
    relayed.send_all()
    (answer,) = _to(relay, ANA)[1:]
    assert _text(answer).startswith("Please restart the printer.")
    assert "Please restart the printer." in _html(answer)
    assert "mso-bidi" not in _html(answer) and "<script" not in _html(answer)
    assert len(answer.as_bytes()) < 20_000


def test_files_of_another_ticket_are_out_of_reach(relayed: Helpdesk, relay: Relay) -> None:
    mine = relayed.deliver(
        with_files(files=(File("mine.pdf", "application/pdf", pdf("mine")),), subject="Mine")
    ).ticket_id
    theirs = relayed.deliver(
        with_files(
            sender="Bia <bia@example.org>",
            subject="Theirs",
            files=tuple(
                File(f"secret-{n}.pdf", "application/pdf", pdf(f"secret {n}")) for n in range(3)
            ),
        )
    ).ticket_id
    assert mine is not None and theirs is not None
    relayed.send_all()
    before = len(_to(relay, ALICE))
    assert relayed.agent_says(mine, "#files 3").outcome == "command_error"
    relayed.send_all()
    (error,) = _to(relay, ALICE)[before:]
    assert f"#files 3: ticket #{mine} has no file 3 (it has 1 file)" in _text(error)
    assert _files(error) == []
    assert relayed.agent_says(mine, "#files").outcome == "commands"
    relayed.send_all()
    (answer,) = _to(relay, ALICE)[before + 1 :]
    assert [p.get_filename() for p in _files(answer)] == ["mine.pdf"]
    for message in _to(relay, ALICE)[before:]:
        assert "secret" not in message.as_string()


def test_a_file_erased_before_its_mail_is_sent_is_left_out_not_replaced(
    relayed: Helpdesk, relay: Relay, caplog: pytest.LogCaptureFixture
) -> None:
    kept, erased = pdf("kept"), pdf("erased")
    mail = with_files(
        files=(
            File("kept.pdf", "application/pdf", kept),
            File("erased.pdf", "application/pdf", erased),
        )
    )
    ticket_id = relayed.deliver(mail).ticket_id
    assert ticket_id is not None
    with relayed.app.sessions.begin() as session:
        gone = session.scalars(select(Attachment).where(Attachment.filename == "erased.pdf")).one()
        session.delete(gone)
    relayed.send_all()
    (notice,) = _to(relay, ALICE)
    assert {str(p.get_filename()): p.get_content() for p in _files(notice)} == {"kept.pdf": kept}
    assert f"file #{gone.id} is gone, sent without it" in caplog.text


def test_a_file_erased_while_its_mail_is_written_fails_that_attempt_and_delivers_nothing(
    relayed: Helpdesk, relay: Relay
) -> None:
    relayed.deliver(with_files(files=(File("erased.pdf", "application/pdf", pdf("erased")),)))
    with relayed.app.sessions() as session:
        gone = session.scalars(select(Attachment).where(Attachment.filename == "erased.pdf")).one()
    raw = b"From: desk@acme.example\r\nMessage-ID: <n.1@acme.example>\r\nSubject: n\r\n\r\nhi\r\n"
    # Composed while the file is kept; its chunks are read only as DATA is written.
    composed = outgoing_files.with_files(
        relayed.app.sessions, 1, raw, [{"id": gone.id, "cid": "c"}]
    )
    with relayed.app.sessions.begin() as session:
        session.delete(session.get_one(Attachment, gone.id))
    transport = transport_for(relayed.app.settings.outgoing)
    try:
        with pytest.raises(TemporaryFailure, match=f"file #{gone.id} changed while it was sent"):
            transport.send(composed, "desk@acme.example", [ALICE])
        # The connection cut in DATA is not the next message's: that one arrives alone.
        transport.send(raw.replace(b"<n.1", b"<n.2"), "desk@acme.example", [ALICE])
    finally:
        transport.close()
    relay.wait_until(lambda received: any(b"<n.2@" in r.raw for r in received))
    assert [r.message["Message-ID"] for r in relay.received] == ["<n.2@acme.example>"]


def test_an_agents_image_that_is_not_one_is_attached_and_a_real_one_shown(
    relayed: Helpdesk, relay: Relay
) -> None:
    ticket_id = relayed.deliver(compose()).ticket_id
    assert ticket_id is not None
    relayed.send_all()
    real, fake = png(seed=5), pdf("not a chart")
    html = (
        '<p>Before: <img src="cid:real@alice" alt="the screen"></p>'
        '<p>After: <img src="cid:fake@alice" alt="the chart"></p>'
    )
    files = (
        File("screen.png", "image/png", real, content_id="real@alice"),
        File("chart.png", "image/png", fake, content_id="fake@alice"),
    )
    assert _answer(relayed, ticket_id, html, "Before, after.", files) == "agent_reply"
    relayed.send_all()
    (answer,) = _to(relay, ANA)[1:]
    parts = {str(p.get_filename()): p for p in _files(answer)}
    assert parts["screen.png"].get_content_disposition() == "inline"
    assert parts["chart.png"].get_content_disposition() == "attachment"
    assert parts["chart.png"].get_payload(decode=True) == fake
    shown = re.findall(r'src="cid:([^"]+)"', _html(answer))
    assert shown == [str(parts["screen.png"]["Content-ID"]).strip("<>")]
    assert "the chart" in _html(answer)
