"""Files and formatting both ways, through the real pipeline and a real relay: what each agent's
and each customer's mail client receives."""

from __future__ import annotations

import base64
import smtplib
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from mailtickets.mail.attachments import encoded_size
from tests.support.cli import SECRET, mailtickets
from tests.support.daemon import READY_LINE, Daemon
from tests.support.files import File, pdf, png, with_files
from tests.support.helpdesk import CONFIG, Helpdesk, make_helpdesk
from tests.support.mail import compose
from tests.support.relay import Relay, free_port

AGENTS = Path(__file__).parents[2] / "data" / "agents"
CAP = 10_000_000  # the default [outgoing] max_attachments_size
ALICE, BRUNO, ANA = "alice@acme.example", "bruno@acme.example", "ana@example.com"


def _desk(relay: Relay, tmp_path: Path, intake: str = "1MiB", url: str | None = None) -> Helpdesk:
    extra = (
        f'[outgoing]\nhost = "127.0.0.1"\nport = {relay.port}\ntls = "none"\n'
        'retry_delay = "10s"\ngive_up_after = "1h"\ntimeout = "30s"\n'
    )
    config = CONFIG.replace('max_attachment_size = "1MiB"', f'max_attachment_size = "{intake}"')
    url = url or f"sqlite:///{tmp_path / 'mailtickets.db'}"
    return make_helpdesk(url, tmp_path, extra, config)


@pytest.fixture
def big(relay: Relay, tmp_path: Path) -> Iterator[Helpdesk]:
    """A helpdesk whose intake keeps files up to 20 MiB, twice the outgoing cap."""
    desk = _desk(relay, tmp_path, intake="20MiB")
    yield desk
    desk.app.engine.dispose()


@pytest.fixture
def on_any(relay: Relay, tmp_path: Path, database_url: str) -> Iterator[Helpdesk]:
    """A relayed helpdesk on SQLite and, in a second run, on PostgreSQL."""
    desk = _desk(relay, tmp_path, url=database_url)
    yield desk
    desk.app.engine.dispose()


def _to(relay: Relay, address: str) -> list[EmailMessage]:
    return [r.message for r in relay.received if address in r.recipients]


def _files(message: EmailMessage) -> dict[str, EmailMessage]:
    """The message's file parts by name: attached, or inline beside the HTML."""
    found = {}
    for part in message.walk():
        if part.get_filename():
            assert isinstance(part, EmailMessage)
            found[str(part.get_filename())] = part
    return found


def _text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def _html(message: EmailMessage) -> str:
    body = message.get_body(("html",))
    assert body is not None
    return str(body.get_content())


def _ids(header: object) -> list[str]:
    return [i.strip("<>") for i in str(header or "").split()]


def test_each_agent_gets_the_pdf_attached_and_the_png_in_place(
    on_any: Helpdesk, relay: Relay
) -> None:
    shot, invoice = png(seed=7), pdf()
    mail = with_files(
        files=(
            File("invoice.pdf", "application/pdf", invoice),
            File("screenshot.png", "image/png", shot, content_id="shot.1@ana.example"),
        ),
        to="vendas@acme.example",
    )
    result = on_any.deliver(mail, rcpt=("vendas@acme.example",))
    on_any.send_all()
    for agent in (ALICE, BRUNO):  # both serve Vendas
        (notice,) = _to(relay, agent)
        files = _files(notice)
        assert files["invoice.pdf"].get_content() == invoice
        assert files["invoice.pdf"].get_content_disposition() == "attachment"
        image = files["screenshot.png"]
        assert image.get_content() == shot
        assert image.get_content_disposition() == "inline"
        related = next(p for p in notice.walk() if p.get_content_type() == "multipart/related")
        assert image in list(related.iter_parts())
        assert f'src="cid:{image["Content-ID"].strip("<>")}"' in _html(notice)
        listed = _text(notice)
        assert f"invoice.pdf ({len(invoice)} bytes)" in listed
        assert f"screenshot.png ({len(shot)} bytes)" in listed
    # The outbox named the files; their bytes were read only to send.
    for row in on_any.outbox(result.ticket_id):
        if row.template == "agent/new_ticket":
            assert sorted(f["inline"] for f in row.attachments or []) == [False, True]
            assert row.raw is not None
            assert base64.b64encode(invoice)[:60] not in row.raw.replace(b"\r\n", b"")


def test_the_running_daemon_sends_the_agent_both_files(relay: Relay, tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "site.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path}/mt.db"\n[storage]\ndir = "{tmp_path}/var"\n'
        '[tickets]\nsubject_prefix = "ACME"\n[[queue]]\naddress = "support@acme.example"\n'
        f'[[agent]]\naddress = "{ALICE}"\nname = "Alice"\n'
        f'[[smtp]]\nhost = "127.0.0.1"\nport = {port}\n'
        f'[outgoing]\nhost = "127.0.0.1"\nport = {relay.port}\ntls = "none"\n'
    )
    assert mailtickets("--config", str(config), "db", "upgrade", cwd=tmp_path).returncode == 0
    shot, invoice = png(seed=3), pdf()
    mail = with_files(
        files=(
            File("invoice.pdf", "application/pdf", invoice),
            File("screenshot.png", "image/png", shot, content_id="shot.1@ana.example"),
        )
    )
    with Daemon(tmp_path, ("--config", str(config))) as daemon:
        daemon.wait_for(READY_LINE)
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            # smtplib sends bytes as given: the wire wants CRLF.
            client.sendmail(ANA, ["support@acme.example"], mail.replace(b"\n", b"\r\n"))
        daemon.wait_for("outbox #2 sent")  # the acknowledgement is #1
        assert daemon.stop() == 0, daemon.output
    (notice,) = _to(relay, ALICE)
    files = _files(notice)
    assert files["invoice.pdf"].get_content() == invoice
    image = files["screenshot.png"]
    assert (image.get_content(), image.get_content_disposition()) == (shot, "inline")
    assert f'src="cid:{image["Content-ID"].strip("<>")}"' in _html(notice)


def test_a_15_mb_file_is_listed_and_saved_by_the_command_it_names(
    big: Helpdesk, relay: Relay, tmp_path: Path
) -> None:
    video = pdf("site survey", padding=15_000_000)
    ticket_id = big.deliver(
        with_files(files=(File("survey.pdf", "application/pdf", video),))
    ).ticket_id
    assert ticket_id is not None
    big.send_all()
    (notice,) = _to(relay, ALICE)
    assert _files(notice) == {}
    command = f"mailtickets tickets attachment {ticket_id} 1 --output survey.pdf"
    text = " ".join(_text(notice).split())
    assert (
        "1. survey.pdf (15.0 MB): not attached, larger than the 10.0 MB one mail may carry" in text
    )
    assert command in text

    # #files cannot mail it either: the answer says how it is fetched.
    big.agent_says(ticket_id, "#files")
    big.send_all()
    (answer,) = _to(relay, ALICE)[1:]
    assert _files(answer) == {}
    assert command in " ".join(_text(answer).split())

    # And the command does it: the operator gets the customer's bytes.
    site = tmp_path / "site.toml"
    site.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "mailtickets.db"}"\n'
        '[tickets]\nsecret_env = "SECRET"\n[[queue]]\naddress = "support@acme.example"\n'
    )
    saved = mailtickets(
        "--config", str(site), *command.split()[1:], cwd=tmp_path, env={"SECRET": SECRET}
    )
    assert saved.returncode == 0, saved.stderr
    assert (tmp_path / "survey.pdf").read_bytes() == video
    assert f"{len(video)} bytes in survey.pdf" in saved.stdout


def test_files_over_the_cap_together_come_with_files_in_as_many_mails_as_it_takes(
    big: Helpdesk, relay: Relay
) -> None:
    parts = [pdf(f"part {n}", padding=3_500_000 + n) for n in range(3)]
    files = tuple(File(f"part-{n}.pdf", "application/pdf", p) for n, p in enumerate(parts))
    ticket_id = big.deliver(with_files(files=files)).ticket_id
    assert ticket_id is not None
    big.send_all()
    (notice,) = _to(relay, ALICE)
    # Two fit under the cap (4.8 MB each, encoded); the third is listed.
    assert sorted(_files(notice)) == ["part-0.pdf", "part-1.pdf"]
    assert '3. part-2.pdf (3.5 MB): not attached, reply "#files 3" to get it' in _text(notice)

    big.agent_says(ticket_id, "#files")
    big.send_all()
    answers = _to(relay, ALICE)[1:]
    assert [str(a["Subject"]).split(":")[0] for a in answers] == [
        f"[ACME #{ticket_id}] Files (1 of 2)",
        f"[ACME #{ticket_id}] Files (2 of 2)",
    ]
    got = {name: part.get_content() for a in answers for name, part in _files(a).items()}
    assert got == {f"part-{n}.pdf": p for n, p in enumerate(parts)}
    for answer in answers:
        assert sum(encoded_size(len(p.get_content())) for p in _files(answer).values()) <= CAP

    # One file by its number.
    big.agent_says(ticket_id, "#files 3")
    big.send_all()
    (only,) = _to(relay, ALICE)[3:]
    assert {n: p.get_content() for n, p in _files(only).items()} == {"part-2.pdf": parts[2]}


def _agent_answer(
    client: str,
    *,
    to: str,
    in_reply_to: str,
    references: list[str],
    files: tuple[File, ...],
    message_id: str = "alice-own-1@acme.example",
) -> bytes:
    """Alice's answer as `client` writes it, with her signature logo and `files`."""
    html = (AGENTS / f"{client}.html").read_text()
    logos = {"gmail": "ii_logo01", "outlook": "image001.png@01DB0C2A.5E3F8A10"}
    logo = (File("logo.png", "image/png", png(seed=99), logos[client]),) if client in logos else ()
    raw = compose(
        sender=f"Alice Agent <{ALICE}>",
        to=to,
        subject="Re: [ACME #1] Printer on fire",
        body=(AGENTS / f"{client}.txt").read_text(),
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
    )
    return with_files(raw, files=(*logo, *files), html=html)


@pytest.mark.parametrize("client", ["gmail", "thunderbird", "outlook"])
def test_an_agents_html_answer_reaches_the_customer_as_she_wrote_it(
    relayed: Helpdesk, relay: Relay, client: str
) -> None:
    opened = relayed.deliver(compose(message_id="c1@client.example"))
    assert opened.ticket_id is not None
    relayed.send_all()
    (ack,) = _to(relay, ANA)
    (notice,) = _to(relay, ALICE)
    address = notice["Reply-To"].addresses[0].addr_spec
    notice_id = str(notice["Message-ID"]).strip("<>")
    guide = pdf("Reset guide")
    answer = _agent_answer(
        client,
        to=address,
        in_reply_to=notice_id,
        references=["c1@client.example", notice_id],
        files=(File("reset-guide.pdf", "application/pdf", guide),),
    )
    assert relayed.deliver(answer, rcpt=(address,), mail_from=ALICE).outcome == "agent_reply"
    relayed.send_all()
    (reply,) = _to(relay, ANA)[1:]

    html, text = _html(reply), _text(reply)
    assert "<b>unplug</b>" in html
    assert 'href="https://acme.example/kb/42"' in html
    assert "unplug" in text and "https://acme.example/kb/42" in text
    for gone in (
        "printer is on fire",
        "New ticket #1",
        "<script",
        "javascript:",
        "tracker.example",
    ):
        assert gone not in html and gone not in text, gone
    assert {n: p.get_content() for n, p in _files(reply).items()} == {"reset-guide.pdf": guide}

    assert reply["Auto-Submitted"] is None
    assert reply["X-Mailtickets-Loop"] == "acme.example"
    ack_id = str(ack["Message-ID"]).strip("<>")
    assert _ids(reply["In-Reply-To"]) == ["c1@client.example"]
    assert _ids(reply["References"]) == ["c1@client.example", ack_id]


def test_a_note_keeps_its_files_among_agents(relayed: Helpdesk, relay: Relay) -> None:
    ticket_id = relayed.deliver(
        compose(to="vendas@acme.example"), rcpt=("vendas@acme.example",)
    ).ticket_id
    assert ticket_id is not None
    relayed.send_all()
    address = relayed.reply_address(ticket_id, ALICE)
    log = b"2026-11-02 09:00 E-42 fuser overheated\n"
    note = with_files(
        compose(
            sender=f"Alice <{ALICE}>", to=address, subject="Re: x", body="#note\nThe printer log."
        ),
        files=(File("printer.log", "text/plain", log),),
    )
    assert relayed.deliver(note, rcpt=(address,), mail_from=ALICE).outcome == "note"
    relayed.send_all()
    (notice, told) = _to(relay, BRUNO)
    assert "printer.log" not in _files(notice)
    assert _files(told)["printer.log"].get_payload(decode=True) == log
    assert len(_to(relay, ANA)) == 1  # the acknowledgement only


def test_the_agent_given_a_ticket_gets_its_files(relayed: Helpdesk, relay: Relay) -> None:
    invoice = pdf()
    mail = with_files(
        files=(File("invoice.pdf", "application/pdf", invoice),), to="vendas@acme.example"
    )
    ticket_id = relayed.deliver(mail, rcpt=("vendas@acme.example",)).ticket_id
    assert ticket_id is not None
    relayed.send_all()
    relayed.agent_says(ticket_id, f"#assign {BRUNO}")
    relayed.send_all()
    assigned = _to(relay, BRUNO)[-1]
    assert str(assigned["Subject"]).startswith(f"[ACME #{ticket_id}] Atribuído a você")
    assert "Alice <alice@acme.example>" in _text(assigned)
    assert _files(assigned)["invoice.pdf"].get_content() == invoice
    # Assigning oneself tells nobody.
    before = len(relay.received)
    relayed.agent_says(ticket_id, "#assign me", agent=BRUNO)
    relayed.send_all()
    assert len(relay.received) == before


@pytest.mark.parametrize(
    ("language", "said"),
    [
        (None, "This request is now resolved. If something is still not right, simply reply"),
        ("pt-BR", "Esta solicitação agora está resolvida. Se algo ainda não estiver certo, basta"),
    ],
)
def test_resolve_with_text_says_the_ticket_is_resolved_in_the_customers_language(
    relayed: Helpdesk, relay: Relay, language: str | None, said: str
) -> None:
    headers = {"Content-Language": language} if language else {}
    ticket_id = relayed.deliver(compose(headers=headers)).ticket_id
    assert ticket_id is not None
    relayed.send_all()
    assert (
        relayed.agent_says(ticket_id, "#resolve\nWe replaced the fuser.").outcome == "agent_reply"
    )
    relayed.send_all()
    (answer,) = _to(relay, ANA)[1:]
    assert relayed.ticket(ticket_id)["status"] == "resolved"
    text = " ".join(_text(answer).split())
    assert text.startswith("We replaced the fuser.")
    assert said in text
    assert said in " ".join(_html(answer).split())
    assert answer["Auto-Submitted"] is None


def test_a_file_too_large_to_keep_is_named_to_the_customer_once_and_to_the_agents(
    relayed: Helpdesk, relay: Relay
) -> None:
    ticket_id = relayed.deliver(compose(message_id="c1@client.example")).ticket_id
    assert ticket_id is not None
    relayed.send_all()
    huge = File("scan.pdf", "application/pdf", pdf(padding=2 * 1024 * 1024))
    small = File("note.txt", "text/plain", b"ok\n")
    follow_up = with_files(
        files=(huge, small), subject=f"Re: [ACME #{ticket_id}] Printer on fire", body="The scan."
    )
    assert relayed.deliver(follow_up).outcome == "follow_up"
    relayed.send_all()
    (too_large,) = _to(relay, ANA)[1:]
    assert str(too_large["Subject"]).startswith(f"[ACME #{ticket_id}] Attachment too large")
    assert "scan.pdf" in _text(too_large) and "note.txt" not in _text(too_large)
    assert too_large["Auto-Submitted"] == "auto-generated"
    replied = _to(relay, ALICE)[-1]
    assert "scan.pdf (2.1 MB): too large to keep" in _text(replied)
    assert list(_files(replied)) == ["note.txt"]


def test_a_macro_follows_the_agents_html_escaped(relayed: Helpdesk, relay: Relay) -> None:
    ticket_id = relayed.deliver(compose()).ticket_id
    assert ticket_id is not None
    relayed.send_all()
    address = relayed.reply_address(ticket_id, ALICE)
    html = "<div>#macro password_reset</div><div><b>Hi Ana</b>, the steps:</div>"
    raw = compose(
        sender=f"Alice <{ALICE}>",
        to=address,
        subject="Re: x",
        body="#macro password_reset\n\nHi Ana, the steps:",
    )
    result = relayed.deliver(with_files(raw, html=html), rcpt=(address,), mail_from=ALICE)
    assert result.outcome == "agent_reply"
    relayed.send_all()
    (answer,) = _to(relay, ANA)[1:]
    html_part, text = _html(answer), _text(answer)
    assert "<b>Hi Ana</b>, the steps:" in html_part
    assert "Open the sign-in page and choose &#34;Forgot password?&#34;." in html_part
    assert "#macro" not in html_part and "#macro" not in text
    assert text.index("Hi Ana, the steps:") < text.index("Open the sign-in page")


def test_a_3_mb_file_reaches_the_agent_byte_for_byte_through_its_chunks(
    big: Helpdesk, relay: Relay
) -> None:
    """Stored in 1 MiB chunks as it was decoded, sent encoded from them: what arrives is
    the file."""
    report = pdf("logs", padding=3 * 1024 * 1024 + 17)
    big.deliver(with_files(files=(File("logs.pdf", "application/pdf", report),)))
    big.send_all()
    (notice,) = _to(relay, ALICE)
    assert _files(notice)["logs.pdf"].get_content() == report
    assert "1. logs.pdf (" in _text(notice)


def test_a_notice_names_twenty_files_it_does_not_carry_and_counts_the_rest(
    relay: Relay, tmp_path: Path
) -> None:
    extra = (
        f'[outgoing]\nhost = "127.0.0.1"\nport = {relay.port}\ntls = "none"\n'
        'max_attachments_size = "1KB"\n'
    )
    desk = make_helpdesk(f"sqlite:///{tmp_path / 'mailtickets.db'}", tmp_path, extra)
    files = tuple(
        File(f"scan-{n:02}.pdf", "application/pdf", pdf(f"scan {n}", padding=2000))
        for n in range(1, 61)
    )
    desk.deliver(with_files(files=files))
    desk.send_all()
    (notice,) = _to(relay, ALICE)
    text = _text(notice)
    assert not _files(notice)
    assert "scan-20.pdf" in text and "scan-21.pdf" not in text
    assert "… and 40 more files; the rest: #history" in text
    assert "… and 40 more files; the rest: <code>#history</code>" in _html(notice)
    desk.app.engine.dispose()
