"""parse() against the client corpus in tests/data/corpus, plus hostile and broken input."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP, Policy
from pathlib import Path
from typing import Any

import pytest

from mailtickets.mail.parse import (
    MAX_PARTS,
    MAX_UNPARSED_TEXT,
    ParsedMail,
    parse,
    safe_filename,
    safe_text,
)
from mailtickets.mail.spans import Span

CORPUS_DIR = Path(__file__).parents[2] / "data" / "corpus"
MANIFEST: dict[str, dict[str, Any]] = json.loads(
    (CORPUS_DIR / "manifest.json").read_text(encoding="utf-8")
)
NAMES = sorted(MANIFEST)
BOUNCES = [name for name in NAMES if MANIFEST[name]["kind"] == "bounce"]
# The machine-readable parts of a delivery report: kept as attachments under generated names,
# but the corpus counts only real attachments (see tests/data/corpus/README.md).
REPORT_PARTS = {"message/delivery-status", "text/rfc822-headers", "message/rfc822"}


@functools.cache
def _corpus(name: str) -> ParsedMail:
    return parse((CORPUS_DIR / name).read_bytes())


def _has_lone_surrogate(text: str) -> bool:
    return any(0xD800 <= ord(c) <= 0xDFFF for c in text)


def _stored_strings(mail: ParsedMail) -> list[str]:
    """Every string parse() hands on to be stored."""
    strings = [mail.subject, mail.text, *mail.in_reply_to, *mail.references, *mail.to, *mail.cc]
    strings += [s for s in (mail.message_id, mail.from_name, mail.from_address, mail.html) if s]
    strings += [a.filename for a in mail.attachments]
    strings += [a.content_id for a in mail.attachments if a.content_id]
    return strings


# --- the corpus --------------------------------------------------------------------------


def test_manifest_describes_every_corpus_file() -> None:
    files = {path.name for path in CORPUS_DIR.glob("*.eml")}
    assert len(files) >= 30
    assert set(MANIFEST) == files


@pytest.mark.parametrize("name", NAMES)
def test_subject_is_decoded(name: str) -> None:
    assert _corpus(name).subject == MANIFEST[name]["subject"]


@pytest.mark.parametrize("name", NAMES)
def test_from_address_and_name(name: str) -> None:
    mail = _corpus(name)
    assert (mail.from_address, mail.from_name) == (
        MANIFEST[name]["from_address"],
        MANIFEST[name]["from_name"],
    )


@pytest.mark.parametrize("name", NAMES)
def test_message_id_without_brackets(name: str) -> None:
    assert _corpus(name).message_id == MANIFEST[name]["message_id"]


@pytest.mark.parametrize("name", NAMES)
def test_first_in_reply_to(name: str) -> None:
    in_reply_to = _corpus(name).in_reply_to
    assert (in_reply_to[0] if in_reply_to else None) == MANIFEST[name]["in_reply_to"]


@pytest.mark.parametrize("name", NAMES)
def test_new_text_is_in_the_text(name: str) -> None:
    assert MANIFEST[name]["new_text_contains"] in _corpus(name).text


@pytest.mark.parametrize("name", NAMES)
def test_attachment_names(name: str) -> None:
    mail = _corpus(name)
    named = [a for a in mail.attachments if not a.inline]
    if MANIFEST[name]["kind"] == "bounce":
        named = [a for a in named if a.content_type not in REPORT_PARTS]
    assert [a.filename for a in named] == MANIFEST[name]["attachments"]
    assert all(a.content for a in named)


@pytest.mark.parametrize("name", BOUNCES)
def test_delivery_report_parts_are_kept_under_generated_names(name: str) -> None:
    report = [a for a in _corpus(name).attachments if a.content_type in REPORT_PARTS]
    assert "message/delivery-status" in [a.content_type for a in report]
    for position, part in enumerate(report, start=1):
        extension = "eml" if part.content_type == "message/rfc822" else "txt"
        assert part.filename == f"attachment-{position}.{extension}"
        assert not part.inline
        assert part.content


@pytest.mark.parametrize("name", NAMES)
def test_inline_images_have_content_ids_referenced_by_the_html(name: str) -> None:
    mail = _corpus(name)
    inline = [a for a in mail.attachments if a.inline]
    assert [a.filename for a in inline] == MANIFEST[name]["inline_images"]
    for image in inline:
        assert image.content_type.startswith("image/")
        assert image.content_id
        assert mail.html is not None
        assert f"cid:{image.content_id}" in mail.html


@pytest.mark.parametrize("name", NAMES)
def test_date_is_timezone_aware_utc(name: str) -> None:
    date = _corpus(name).date
    assert date is not None
    assert date.tzinfo is not None
    assert date.utcoffset() == timedelta(0)
    assert date.year == 2026


@pytest.mark.parametrize("name", NAMES)
def test_stored_text_has_no_nul_or_lone_surrogates(name: str) -> None:
    for text in _stored_strings(_corpus(name)):
        assert "\x00" not in text
        assert not _has_lone_surrogate(text)


# --- charsets ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "words"),
    [
        (
            "webform-unknown-charset.eml",
            ["Não consigo acessar o painel", '"sessão inválida"', "formulário de contato"],
        ),
        ("legacy-us-ascii-8bit.eml", ["Our office in São Paulo", '"Impressão não disponível"']),
        ("mutt-iso-8859-1-8bit.eml", ["Não renovaremos"]),
        ("outlook-plain-windows-1252.eml", ["confirmação da ação bancária"]),
    ],
)
def test_wrong_or_unknown_charset_keeps_the_accented_words(name: str, words: list[str]) -> None:
    text = _corpus(name).text
    for word in words:
        assert word in text
    assert "\ufffd" not in text


@pytest.mark.parametrize(
    ("charset", "body", "expected"),
    [
        ("x-unknown", "Olá, a fatura de € 20 está errada".encode("windows-1252"), "Olá"),
        ("x-unknown", "Olá, a fatura está errada".encode(), "Olá"),
        ("us-ascii", "Atenção: não".encode("latin-1"), "Atenção: não"),
        ("utf-8", "Atenção: não".encode("latin-1"), "Atenção: não"),
        # a codec that exists but raises UnicodeError (not UnicodeDecodeError) when decoding
        ("undefined", "Atenção: não".encode(), "Atenção: não"),
    ],
)
def test_body_charset_fallbacks(charset: str, body: bytes, expected: str) -> None:
    raw = (
        b"From: pat@example.org\nSubject: charset\nMIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=" + charset.encode() + b"\n"
        b"Content-Transfer-Encoding: 8bit\n\n" + body + b"\n"
    )
    assert expected in parse(raw).text


def test_attachment_name_in_an_undecodable_charset_does_not_stop_parsing() -> None:
    raw = (
        b"From: pat@example.org\nSubject: report\nMIME-Version: 1.0\n"
        b"Content-Type: application/pdf\n"
        b"Content-Disposition: attachment; filename*=undefined''relat%C3%B3rio.pdf\n"
        b"Content-Transfer-Encoding: base64\n\nJVBERi0=\n"
    )
    mail = parse(raw)
    assert mail.subject == "report"
    assert [a.content for a in mail.attachments] == [b"%PDF-"]


def test_raw_utf8_headers_are_decoded() -> None:
    """RFC 6532 (SMTPUTF8) mail carries UTF-8 in headers without encoded words."""
    raw = (
        "From: João Ninguém <joao@example.com>\nTo: José <josé@example.com>\n"
        "Subject: Dúvida sobre a cobrança\n\ncorpo\n"
    ).encode()
    mail = parse(raw)
    assert mail.subject == "Dúvida sobre a cobrança"
    assert mail.from_address == "joao@example.com"
    assert mail.from_name == "João Ninguém"
    assert mail.to == ("josé@example.com",)


# --- safe_text and safe_filename ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "plain"),
        ("a\x00b\x00", "ab"),
        ("lone \ud800 surrogate", "lone ? surrogate"),
        # A raw 8-bit byte that is not UTF-8 is read as windows-1252, not lost.
        ("escaped \udcff byte", "escaped \u00ff byte"),
        ("raw utf-8 \udcc3\udca3o", "raw utf-8 \u00e3o"),
        ("Olá 📦 — ok", "Olá 📦 — ok"),
        ("", ""),
    ],
)
def test_safe_text(text: str, expected: str) -> None:
    assert safe_text(text) == expected
    safe_text(text).encode("utf-8")  # strict: must not raise


@pytest.mark.parametrize(
    ("name", "content_type", "expected"),
    [
        ("invoice.pdf", "application/pdf", "invoice.pdf"),
        ("Orçamento 2026.pdf", "application/pdf", "Orçamento 2026.pdf"),
        ("../../etc/passwd", "text/plain", "passwd"),
        ("..\\..\\boot.ini", "text/plain", "boot.ini"),
        ("/etc/passwd", "text/plain", "passwd"),
        ("C:\\Windows\\win.ini", "text/plain", "win.ini"),
        ("dir/../../secret.txt", "text/plain", "secret.txt"),
        ("a\x00b\r\nc.txt", "text/plain", "ab_c.txt"),
        ("\x1b[31mred\x7f.txt", "text/plain", "[31mred_.txt"),
        ('what?*:"<>|.txt', "text/plain", "what_.txt"),
        ("  .hidden  ", "text/plain", "hidden"),
        ("..", "application/pdf", "attachment-3.pdf"),
        ("../", "application/pdf", "attachment-3.pdf"),
        ("", "application/pdf", "attachment-3.pdf"),
        (None, "message/rfc822", "attachment-3.eml"),
        (None, "message/delivery-status", "attachment-3.txt"),
        ("   ", "text/html", "attachment-3.html"),
        ("\x00\x01", "image/png", "attachment-3.png"),
    ],
)
def test_safe_filename(name: str | None, content_type: str, expected: str) -> None:
    assert safe_filename(name, content_type, 3) == expected


@pytest.mark.parametrize(
    "name",
    [
        "a" * 296 + ".pdf",
        "ç" * 296 + ".tar.gz",
        "../" * 100 + "b" * 300 + ".docx",
    ],
)
def test_long_file_names_are_cut_but_keep_their_extension(name: str) -> None:
    extension = name.rsplit(".", 1)[1]
    result = safe_filename(name, "application/octet-stream", 1)
    assert 100 < len(result) <= 200
    assert result.endswith(f".{extension}")
    assert "/" not in result


@pytest.mark.parametrize(
    "name",
    ["report." + "x" * 300, "a." + "b" * 250, "x" * 300, "." + "y" * 300],
)
def test_long_file_names_never_exceed_the_cap(name: str) -> None:
    assert len(safe_filename(name, "application/octet-stream", 1)) <= 200


# --- dates -------------------------------------------------------------------------------


def _with_date(value: str | None) -> ParsedMail:
    date = f"Date: {value}\n" if value is not None else ""
    return parse(f"From: pat@example.org\n{date}Subject: d\n\nx\n".encode())


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Mon, 2 Nov 2026 10:00:00 -0300", datetime(2026, 11, 2, 13, 0, tzinfo=UTC)),
        ("Mon, 2 Nov 2026 10:00:00 +0530", datetime(2026, 11, 2, 4, 30, tzinfo=UTC)),
        ("Mon, 02 Nov 2026 10:00:00 +0000", datetime(2026, 11, 2, 10, 0, tzinfo=UTC)),
        ("Mon, 2 Nov 2026 10:00:00 -0000", datetime(2026, 11, 2, 10, 0, tzinfo=UTC)),
        ("2 Nov 2026 10:00:00 GMT", datetime(2026, 11, 2, 10, 0, tzinfo=UTC)),
        ("Mon, 2 Nov 2026 10:00:00 -0800 (PST)", datetime(2026, 11, 2, 18, 0, tzinfo=UTC)),
        ("Mon, 2 Nov 2026 10:00:00", datetime(2026, 11, 2, 10, 0, tzinfo=UTC)),
    ],
)
def test_dates_come_back_in_utc(value: str, expected: datetime) -> None:
    date = _with_date(value).date
    assert date == expected
    assert date is not None
    assert date.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "not a date",
        "Mon, 31 Feb 2026 10:00:00 +0000",
        "Mon, 2 Nov 99999 10:00:00 +0000",
        "Mon, 2 Nov 2026 10:00:00 +9999",
        "Mon, 2 Nov 2026 25:61:00 +0000",
    ],
)
def test_bad_or_missing_date_gives_none(value: str | None) -> None:
    mail = _with_date(value)
    assert mail.date is None
    assert mail.subject == "d"


# --- identifiers -------------------------------------------------------------------------


def test_reply_ids_keep_order_and_drop_duplicates() -> None:
    references = " ".join(f"<r{i}@example.org>" for i in range(60))
    raw = (
        "From: pat@example.org\nMessage-ID: <m1@example.org>\n"
        "In-Reply-To: <a@example.org> <b@example.org> <a@example.org>\n"
        f"References: {references}\n\nx\n"
    ).encode()
    mail = parse(raw)
    assert mail.message_id == "m1@example.org"
    assert mail.in_reply_to == ("a@example.org", "b@example.org")
    assert mail.references == tuple(f"r{i}@example.org" for i in range(10, 60))


def test_bare_message_id_without_brackets() -> None:
    mail = parse(b"From: pat@example.org\nMessage-ID: m1@example.org\n\nx\n")
    assert mail.message_id == "m1@example.org"


# --- hostile and broken input ------------------------------------------------------------

BIG = 1 << 20


@pytest.mark.parametrize(
    ("header_name", "raw"),
    [
        ("Subject", b"From: pat@example.org\nSubject: " + b"x" * BIG + b"\n\nbody\n"),
        ("X-Long", b"From: pat@example.org\nX-Long: " + b"x" * BIG + b"\nSubject: hi\n\nbody\n"),
        (
            "To",
            b"From: pat@example.org\nTo: "
            + b", ".join(b"u%d@example.org" % i for i in range(70_000))
            + b"\nSubject: hi\n\nbody\n",
        ),
        (
            "References",
            b"From: pat@example.org\nReferences: "
            + b" ".join(b"<r%d@example.org>" % i for i in range(60_000))
            + b"\nSubject: hi\n\nbody\n",
        ),
    ],
)
def test_one_megabyte_header_line(header_name: str, raw: bytes) -> None:
    # How long this takes is measured by the benchmarks (`bench/hostile_parse.py`).
    assert len(raw) > BIG
    mail = parse(raw)
    assert mail.from_address == "pat@example.org"
    assert mail.text == "body\n"
    assert len(mail.subject) <= 998
    if header_name == "Subject":
        assert mail.subject == "x" * len(mail.subject)
        assert mail.subject
    else:
        assert mail.subject == "hi"
    assert any(header_name.lower() in note.lower() for note in mail.notes)


def test_nul_bytes_in_headers_and_body() -> None:
    raw = (
        b"From: Pat\x00 Example <pat\x00@example.org>\nSubject: hel\x00lo\n"
        b"Message-ID: <m\x00@example.org>\nContent-Type: text/plain; charset=utf-8\n\n"
        b"bo\x00dy \x00\n"
    )
    mail = parse(raw)
    assert mail.subject == "hello"
    assert mail.text == "body \n"
    for text in _stored_strings(mail):
        assert "\x00" not in text


def _nested_multiparts(depth: int) -> bytes:
    lines = [
        b"From: pat@example.org\nSubject: deep\nContent-Type: multipart/mixed; boundary=b0\n\n"
    ]
    for level in range(1, depth):
        lines.append(b"--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n" % (level - 1, level))
    lines.append(b"--b%d\nContent-Type: text/plain\n\ndeepest text\n" % (depth - 1))
    lines.extend(b"--b%d--\n" % level for level in reversed(range(depth)))
    return b"".join(lines)


def test_five_thousand_nested_multiparts() -> None:
    mail = parse(_nested_multiparts(5000))
    assert mail.subject == "deep"
    assert mail.from_address == "pat@example.org"
    assert mail.notes  # what was not read is said, not silently dropped


def test_deeply_nested_forwarded_messages() -> None:
    raw = (
        b"From: pat@example.org\nSubject: fwd\nContent-Type: message/rfc822\n\n"
        + b"Content-Type: message/rfc822\n\n" * 3000
        + b"Subject: inner\n\nx\n"
    )
    mail = parse(raw)
    assert mail.subject == "fwd"
    assert mail.from_address == "pat@example.org"


def test_many_sibling_parts_stop_at_the_cap() -> None:
    parts = b"".join(
        b"--s\nContent-Type: text/plain\n\npart %d\n" % i for i in range(MAX_PARTS + 10)
    )
    raw = (
        b"From: pat@example.org\nContent-Type: multipart/mixed; boundary=s\n\n" + parts + b"--s--\n"
    )
    mail = parse(raw)
    assert "part 0\n" in mail.text
    assert f"part {MAX_PARTS + 9}\n" not in mail.text
    assert any(str(MAX_PARTS) in note and "part" in note.lower() for note in mail.notes)


def test_garbage_bytes() -> None:
    mail = parse(bytes(range(256)) * 50)
    assert mail.message_id is None
    assert mail.from_address is None
    assert mail.date is None
    for text in _stored_strings(mail):
        assert "\x00" not in text
        assert not _has_lone_surrogate(text)


def test_empty_message() -> None:
    mail = parse(b"")
    assert (mail.subject, mail.text, mail.html) == ("", "", None)
    assert (mail.message_id, mail.from_address, mail.from_name, mail.date) == (None,) * 4
    assert (mail.in_reply_to, mail.references, mail.to, mail.cc) == ((), (), (), ())
    assert mail.attachments == ()


def test_broken_base64_keeps_what_it_can() -> None:
    raw = (
        b"From: pat@example.org\nContent-Type: text/plain\n"
        b"Content-Transfer-Encoding: base64\n\nT2zDoSBtdW5kbw==\n!!!\xff\n"
    )
    mail = parse(raw)
    assert "Olá mundo" in mail.text
    assert "\x00" not in mail.text


def test_crlf_message_larger_than_64_kib_keeps_its_whole_body() -> None:
    """SMTP and IMAP hand us CRLF; the text must not depend on the line ending."""
    body = "".join(f"    line {i} of an indented log excerpt\n" for i in range(3000))
    lf = ("From: pat@example.org\nSubject: log\n\n" + body).encode()
    crlf = lf.replace(b"\n", b"\r\n")
    assert parse(lf).text == body
    crlf_mail = parse(crlf)
    assert crlf_mail.text.replace("\r\n", "\n") == body
    assert crlf_mail.notes == ()


def test_an_encoded_display_name_cannot_become_the_sender() -> None:
    # A name whose decoded text reads "Eve\r\nBcc: injected@evil.example": the address stays
    # the one in angle brackets, never something the decoded name spells.
    raw = (
        b"From: =?utf-8?Q?Eve=0D=0ABcc:_injected=40evil.example?= <eve@attacker.example>\r\n"
        b"Subject: name\r\n\r\nhello\r\n"
    )
    mail = parse(raw)
    assert mail.from_address == "eve@attacker.example"
    assert "\n" not in (mail.from_name or "")


ENCODED = "=?utf-8?Q?x=40evil.example?="


@pytest.mark.parametrize(
    ("sender", "address", "name"),
    [
        # RFC 2047 allows encoded words in display names only: inside an address it is plain
        # text (here a valid local part), never decoded into one.
        (f"Eve <{ENCODED}@customer.example>", f"{ENCODED.lower()}@customer.example", "Eve"),
        (f"<{ENCODED}>", None, None),  # no domain as written: no sender
        # In the display name it is decoded as ever.
        ("=?utf-8?Q?Jos=C3=A9?= <jose@example.com>", "jose@example.com", "José"),
        ("=?utf-8?Q?Ana?= <ana@example.com>, Bia <bia@example.com>", "ana@example.com", "Ana"),
    ],
)
def test_an_encoded_word_inside_an_address_is_not_decoded(
    sender: str, address: str | None, name: str | None
) -> None:
    mail = parse(f"From: {sender}\r\nSubject: words\r\n\r\nhello\r\n".encode())
    assert (mail.from_address, mail.from_name) == (address, name)


def test_a_comment_may_stand_between_the_parts_of_an_address() -> None:
    # RFC 5322 allows comments wherever white space may stand: "0 (a comment) @..." is 0@...
    mail = parse(b"From: 0( <)@customer.example\r\nSubject: comment\r\n\r\nhello\r\n")
    assert mail.from_address == "0@customer.example"


def test_an_address_is_checked_as_it_will_be_stored() -> None:
    # "<0@\x00>": valid-looking until the NUL byte is dropped, leaving a domainless "0@".
    mail = parse(b"From: <0(@customer.example>)@\x00\r\nSubject: nul\r\n\r\nhello\r\n")
    assert mail.from_address is None


@pytest.mark.parametrize(
    "sender",
    [
        "ana@example.com",
        "Ana <ANA@Example.COM>",
        "ana@example.com.",  # the stdlib's strict parser reads "<>" here
        "Ana Lima <ana@example.com.>",
        '"ana"@example.com',
        '"Ana" <"ana"@example.com.>',
        "ana(at home)@example.com",
        "Ana <ana@(work)example.com>",
        "=?utf-8?Q?Ana?= <ana@example.com.>",
        # An encoded word in the angle brackets is no address; the one after it is.
        "Ana <=?utf-8?q?evil=40evil.example?=> <ana@example.com>",
    ],
)
def test_every_spelling_of_one_mailbox_is_one_address(sender: str) -> None:
    mail = parse(f"From: {sender}\r\nCc: {sender}\r\nSubject: one\r\n\r\nhello\r\n".encode())
    assert mail.from_address == "ana@example.com"
    assert mail.cc == ("ana@example.com",)


def test_a_message_of_50000_parts_keeps_a_bounded_text() -> None:
    parts = "".join(f"--b\r\nContent-Type: text/plain\r\n\r\npart {n}\r\n" for n in range(50_000))
    head = (
        "From: pat@example.org\r\nSubject: many\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
    )
    raw = f"{head}{parts}--b--\r\n"
    mail = parse(raw.encode())
    assert mail.subject == "many"
    assert mail.text.startswith("--b") and len(mail.text) == MAX_UNPARSED_TEXT
    assert any("first 100000 characters" in note for note in mail.notes)


def test_a_large_base64_file_is_decoded_from_the_raw_message_as_the_stdlib_decodes_it() -> None:
    content = bytes(range(256)) * 4096 + b"tail"
    message = EmailMessage()
    message["From"] = "pat@example.org"
    message.set_content("see the file")
    message.add_attachment(content, "application", "zip", filename="logs.zip")
    for raw in (message.as_bytes(), message.as_bytes(policy=SMTP)):
        (file,) = parse(raw).attachments
        assert isinstance(file.body, Span)
        assert b"".join(file.pieces()) == content
        assert parse(raw).text.strip() == "see the file"


def test_a_large_body_that_only_looks_like_base64_is_text() -> None:
    line = "A" * 76
    body = "\n".join([line] * 2000)
    raw = f"From: pat@example.org\nSubject: letters\n\n{body}\n".encode()
    assert parse(raw).text == body + "\n"  # as the stdlib gives a single part's body


@dataclass
class _Stored:
    """A stored message read by byte range, remembering the longest range it was asked."""

    raw: bytes
    longest: int = 0

    @property
    def size(self) -> int:
        return len(self.raw)

    def read(self, start: int, end: int) -> bytes:
        self.longest = max(self.longest, min(end, self.size) - start)
        return self.raw[start:end]


@pytest.mark.parametrize("policy", [None, SMTP])
def test_a_stored_message_is_parsed_without_reading_its_file_whole(
    policy: Policy | None,
) -> None:
    content = bytes(range(256)) * 40_000 + b"tail"  # 10 MB: 14 MB of base64
    message = EmailMessage()
    message["From"] = "pat@example.org"
    message["Subject"] = "logs"
    message.set_content("see the file")
    message.add_attachment(content, "application", "zip", filename="logs.zip")
    stored = _Stored(message.as_bytes(policy=policy or message.policy))
    mail = parse(stored)
    (file,) = mail.attachments
    assert (mail.subject, mail.text.strip()) == ("logs", "see the file")
    assert b"".join(file.pieces()) == content
    # A MiB and the two bytes before it at most: never the message, never the file.
    assert stored.longest <= 1024 * 1024 + 2
