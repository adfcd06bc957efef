# ruff: noqa: RUF001  (the look-alike quotes, dashes and commas are what is tested)
"""Bodies and headers read as browsers read them, and wrong labels read from the bytes."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailtickets.mail.charsets import decode
from mailtickets.mail.parse import parse

DATA = Path(__file__).parents[2] / "data" / "charsets"
RUSSIAN = "Здравствуйте, не могу войти в свой аккаунт, помогите пожалуйста"


def test_iso_8859_1_mail_keeps_its_smart_quotes_and_dashes() -> None:
    mail = parse((DATA / "outlook-latin1-smart-quotes.eml").read_bytes())
    assert "He said “it’s fixed” – it is not… and the €20 fee stays." in mail.text
    assert mail.subject == "“Invoice” – wrong"


def test_utf_8_that_is_koi8_r_is_read_as_russian() -> None:
    mail = parse((DATA / "mislabelled-koi8r.eml").read_bytes())
    assert RUSSIAN in mail.text
    assert "\ufffd" not in mail.text


@pytest.mark.parametrize(
    ("label", "payload", "expected"),
    [
        # WHATWG: these labels are windows-1252.
        ("iso-8859-1", "“quoted” – dash".encode("cp1252"), "“quoted” – dash"),
        ("latin1", "Olá, ação".encode("latin-1"), "Olá, ação"),
        # Bytes a label does not describe: UTF-8 when they are, else windows-1252.
        ("us-ascii", "“quoted” – Olá".encode("cp1252"), "“quoted” – Olá"),
        (None, "“quoted” – Olá".encode("cp1252"), "“quoted” – Olá"),
        (None, "Olá, ação".encode(), "Olá, ação"),
        ("us-ascii", "Olá, ação".encode(), "Olá, ação"),
        # "utf-8" that is not: read from the bytes, never U+FFFD.
        ("utf-8", "Atenção: não".encode("latin-1"), "Atenção: não"),
        ("utf-8", RUSSIAN.encode("cp1251"), RUSSIAN),
        ("utf-8", RUSSIAN.encode("koi8-r"), RUSSIAN),
        ("x-unknown", "Olá, a fatura de € 20".encode("cp1252"), "Olá, a fatura de € 20"),
        # UTF-8 with a stray legacy byte: only that byte is windows-1252.
        ("utf-8", "Olá, não consigo entrar. ".encode() * 3 + b"-- Jo\xe3o", "-- João"),
        # WHATWG's other replacements.
        ("gb2312", "你好，我无法登录".encode("gb18030"), "你好，我无法登录"),
        ("iso-8859-9", "Merhaba, ödeme".encode("cp1254"), "Merhaba, ödeme"),
        ("shift_jis", "ログイン①".encode("cp932"), "ログイン①"),
        # Bytes windows-1252 leaves unassigned stay C1 controls, as in browsers.
        ("iso-8859-1", b"a\x81b", "a\x81b"),
    ],
)
def test_decode(label: str | None, payload: bytes, expected: str) -> None:
    text = decode(payload, label)
    assert expected in text
    assert "\ufffd" not in text
