"""Address normalising and plus-addressing."""

from __future__ import annotations

import pytest

from mailtickets.mail.addresses import MAX_ADDRESS, is_valid, normalise, split_plus


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("support@acme.example", "support@acme.example"),
        ("Support@ACME.Example", "support@acme.example"),
        ("  <Support@ACME.example>  ", "support@acme.example"),
        ("< pat@example.org >", "pat@example.org"),
        ("\tpat@example.org\n", "pat@example.org"),
        ("", ""),
        # One mailbox, one spelling: a domain's trailing dots, needless quotes.
        ("ana@Example.COM.", "ana@example.com"),
        ('"ana.lima"@example.com', "ana.lima@example.com"),
        ('"an\\a"@example.com', "ana@example.com"),
        # Quotes that are needed stay: this is not victim@gmail.example.
        ('"victim@gmail.example"@acme.example', '"victim@gmail.example"@acme.example'),
        ('"a b"@example.com', '"a b"@example.com'),
        ("ana@[192.0.2.1]", "ana@[192.0.2.1]"),
    ],
)
def test_normalise(address: str, expected: str) -> None:
    assert normalise(address) == expected
    assert normalise(expected) == expected


def test_normalise_caps_length() -> None:
    assert len(normalise("a" * 1000 + "@example.org")) == MAX_ADDRESS


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("support@acme.example", ("support@acme.example", None)),
        ("support+1042.0.0.abc@acme.example", ("support@acme.example", "1042.0.0.abc")),
        ("Support+TAG@ACME.example", ("support@acme.example", "tag")),
        ("<support+tag@acme.example>", ("support@acme.example", "tag")),
        ("support+a+b@acme.example", ("support@acme.example", "a+b")),
        ("support+@acme.example", ("support@acme.example", "")),
        ('"odd@local"+tag@acme.example', ('"odd@local"@acme.example', "tag")),
        ("billing@acme+eu.example", ("billing@acme+eu.example", None)),
        ("no-at-sign", ("no-at-sign", None)),
        ("No+At", ("no+at", None)),
    ],
)
def test_split_plus(address: str, expected: tuple[str, str | None]) -> None:
    assert split_plus(address) == expected


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("pat@example.org", True),
        ('"odd@local"@example.org', True),
        ("pat@", False),
        ("@example.org", False),
        ("pat example@example.org", False),
        ("pat.example.org", False),
        ("", False),
        ("pat@\x00", False),
        ("pat@exa\tmple.org", False),
        ("pat\r\n@example.org", False),
        ("joão@exemplo.com.br", True),
    ],
)
def test_is_valid(address: str, expected: bool) -> None:
    assert is_valid(address) is expected
