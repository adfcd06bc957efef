"""The customer's language from their text, and the locale of ours that serves it."""

from __future__ import annotations

import pytest

from mailtickets.mail.language import detect, from_header, locale_for

LOCALES = ("en", "pt_BR")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Olá, não consigo entrar na minha conta desde ontem, podem ajudar?", "pt"),
        ("Bom dia, preciso da segunda via do boleto deste mês.", "pt"),
        ("Hi, I can't log in to my account since yesterday, can you help?", "en"),
        ("Hola, no puedo entrar en mi cuenta desde ayer, ¿me pueden ayudar?", "es"),
        ("Hallo, ich kann mich seit gestern nicht mehr in mein Konto einloggen.", "de"),
        # Too short to tell: "Help" reads as Dutch, "Ajuda" as Uzbek.
        ("Help", None),
        ("Ajuda", None),
        ("Obrigado!", None),
        ("", None),
    ],
)
def test_detect(text: str, expected: str | None) -> None:
    assert detect(text) == expected


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("pt", "pt_BR"),
        ("pt-br", "pt_BR"),
        ("pt-PT", "pt_BR"),  # the language's only locale
        ("en-GB", "en"),
        ("EN", "en"),
        ("es", None),  # no templates: the queue's language applies
    ],
)
def test_locale_for(language: str, expected: str | None) -> None:
    assert locale_for(language, LOCALES) == expected


def test_a_regional_locale_of_its_own_is_preferred() -> None:
    assert locale_for("pt-PT", ("en", "pt_BR", "pt_PT")) == "pt_PT"
    assert locale_for("pt", ("en", "pt_BR", "pt_PT")) == "pt_BR"


@pytest.mark.parametrize(
    ("value", "expected"), [("pt-BR, en", "pt-br"), (" EN ", "en"), ("", None), (None, None)]
)
def test_from_header(value: str | None, expected: str | None) -> None:
    assert from_header(value) == expected
