"""The composed message as a mail client reads it: what goes in comes out, whatever the
language, and nothing in the text can make a header or a line the relay would refuse.

The reader is the standard library's parser (`policy.default`), as strict as the clients
that decode RFC 2047 words and quoted-printable bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, message_from_string
from email.message import EmailMessage
from email.policy import default

from hypothesis import example, given, settings
from hypothesis import strategies as st

from mailtickets.outbound.charts import InlineImage
from mailtickets.outbound.compose import address, compose, one_line
from mailtickets.outbound.render import Rendered

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
TAG = "[ACME #7]"
#: Letters of many scripts, marks, emoji, spaces, punctuation that means something in a
#: header (quotes, brackets, "=?" of an encoded word), control characters and line breaks.
TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)),
    max_size=300,
)
#: A queue's or an agent's name, from the configuration: a few words.
NAME = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


def _compose(
    subject: str,
    name: str,
    text: str,
    html: str | None,
    recipients: list[str],
    images: tuple[InlineImage, ...] = (),
) -> bytes:
    return compose(
        template="customer/acknowledgement",
        rendered=Rendered(subject=subject, text=text, html=html),
        tag=TAG,
        marker="[ref:7.abc]",
        sender=address("support@acme.example", name),
        recipients=recipients,
        message_id="mt.7.abc@acme.example",
        date=datetime(2026, 12, 7, 9, 30, tzinfo=UTC),
        loop_domain="acme.example",
        reply_to="support+7.abc@acme.example",
        in_reply_to="CAF=xyz@mail.example",
        references="<a@example.com> <CAF=xyz@mail.example>",
        images=images,
    )


def _read(raw: bytes) -> EmailMessage:
    parsed = message_from_bytes(raw, policy=default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _lines_fit(raw: bytes) -> None:
    lines = raw.split(b"\r\n")
    assert b"\n" not in b"".join(lines) and b"\r" not in b"".join(lines)
    assert max(len(line) for line in lines) <= 998
    head = raw.split(b"\r\n\r\n", 1)[0]
    # Folded within RFC 5322's 78 (RFC 2047's encoded words within 76); ids are never folded.
    assert all(len(line) <= 78 or b"Message-ID" in line for line in head.split(b"\r\n"))


@settings(max_examples=300, deadline=None)
@given(subject=TEXT, name=NAME, text=TEXT, html=st.none() | TEXT)
@example(
    subject="Impressora não imprime =?utf-8?q?x?= [ACME #7]",
    name='Suporte "Acme", Lda. \\ ação',
    text="Olá\r\n.\nlinha com espaço no fim   \n" + "x" * 200 + "\n=3D\tfim",
    html="<p>Olá</p>",
)
@example(subject="件名" * 200, name="サポート" * 3, text="本文\n" * 50, html=None)
@example(subject="x" * 5000, name="", text="", html="")
@example(subject="Re: ok\r\nBcc: victim@example.com", name="Evil\nBcc: x@y", text="t", html=None)
def test_what_goes_in_comes_out_and_every_line_fits(
    subject: str, name: str, text: str, html: str | None
) -> None:
    raw = _compose(subject, name, text, html, ["ana@example.com", "rui@example.com"])
    _lines_fit(raw)
    assert raw.isascii()
    message = _read(raw)
    wanted = one_line(subject)
    assert message["Subject"] == (wanted if TAG in wanted else f"{TAG} {wanted}".strip())
    assert message["From"].addresses[0].display_name == one_line(name)
    assert message["From"].addresses[0].addr_spec == "support@acme.example"
    assert message["Reply-To"].addresses[0].display_name == one_line(name)
    assert [a.addr_spec for a in message["To"].addresses] == ["ana@example.com", "rui@example.com"]
    assert message["Bcc"] is None and len(message.keys()) == len(set(message.keys()))
    assert message["Message-ID"] == "<mt.7.abc@acme.example>"
    assert message["In-Reply-To"] == "<CAF=xyz@mail.example>"
    assert message["References"] == "<a@example.com> <CAF=xyz@mail.example>"
    assert message["Auto-Submitted"] == "auto-replied"
    plain = message.get_body(("plain",))
    assert plain is not None
    expected = f"{text.replace(chr(13) + chr(10), chr(10)).rstrip()}\n\n[ref:7.abc]\n"
    assert plain.get_content().replace("\r\n", "\n") == expected.replace("\r", "\n")
    if html is None:
        assert message.get_content_type() == "text/plain"
    else:
        assert message.get_content_type() == "multipart/alternative"
        body = message.get_body(("html",))
        assert body is not None
        assert (
            body.get_content()
            .replace("\r\n", "\n")
            .startswith(html.replace("\r\n", "\n").replace("\r", "\n"))
        )


def test_a_hundred_recipients_fold_between_addresses() -> None:
    recipients = [f"customer{n}@example.com" for n in range(100)]
    raw = _compose("Printer", "Support", "Hello", None, recipients)
    _lines_fit(raw)
    assert [a.addr_spec for a in _read(raw)["To"].addresses] == recipients


def test_charts_go_in_place_beside_the_html() -> None:
    chart = InlineImage(cid="volume.chart@mailtickets", png=PNG)
    raw = _compose(
        "Report",
        "Support",
        "Hi",
        "<img src='cid:volume.chart@mailtickets'>",
        ["ana@example.com"],
        (chart,),
    )
    _lines_fit(raw)
    message = _read(raw)
    related = next(p for p in message.walk() if p.get_content_type() == "multipart/related")
    html, image = related.iter_parts()
    assert "cid:volume.chart@mailtickets" in html.get_content()
    assert image["Content-ID"] == "<volume.chart@mailtickets>"
    assert image.get_content() == PNG


def test_an_internationalised_address_goes_as_utf8() -> None:
    raw = _compose("Olá", "Suporte", "Olá", None, ["joão@exemplo.com.br"])
    message = message_from_string(raw.decode("utf-8"), policy=default)
    assert [a.addr_spec for a in message["To"].addresses] == ["joão@exemplo.com.br"]
