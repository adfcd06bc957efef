"""Subject prefixes in many languages, our ticket tag, forward and reply detection, and
which subjects are the same and which say nothing of their matter."""

from __future__ import annotations

import pytest

from mailtickets.mail.subjects import (
    MAX_SUBJECT,
    clean,
    is_forward,
    is_generic,
    is_reply,
    subject_key,
    tag,
    tagged,
    ticket_in_tag,
)


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Printer on fire", "Printer on fire"),
        ("Re: Printer on fire", "Printer on fire"),
        ("RE: Printer on fire", "Printer on fire"),
        ("re:Printer on fire", "Printer on fire"),
        ("RE : Printer on fire", "Printer on fire"),  # French typography
        ("Fwd: Printer on fire", "Printer on fire"),
        ("FW: Printer on fire", "Printer on fire"),
        ("RES: Impressora pegando fogo", "Impressora pegando fogo"),  # Outlook pt-BR
        ("ENC: Impressora pegando fogo", "Impressora pegando fogo"),
        ("AW: Drucker brennt", "Drucker brennt"),  # German
        ("WG: Drucker brennt", "Drucker brennt"),
        ("SV: Skrivaren brinner", "Skrivaren brinner"),  # Nordic
        ("VS: Tulostin palaa", "Tulostin palaa"),
        ("Antw: Printer brandt", "Printer brandt"),  # Dutch
        ("Doorst: Printer brandt", "Printer brandt"),
        ("TR: Imprimante en feu", "Imprimante en feu"),  # French forward
        ("RV: Impresora en llamas", "Impresora en llamas"),  # Spanish forward
        ("Re[2]: Printer on fire", "Printer on fire"),
        ("Re(3): Printer on fire", "Printer on fire"),
        ("Re\uff1aPrinter on fire", "Printer on fire"),  # full-width colon
        ("回复\uff1aRe\uff1a打印机", "回复\uff1aRe\uff1a打印机"),  # 回复 is not a known prefix
        ("RES: Fwd: Re: AW: Printer on fire", "Printer on fire"),
        ("Re: Re: Re: Re: Re: Printer on fire", "Printer on fire"),
        ("  Re:   Printer   on\tfire  ", "Printer on fire"),
        ("Re:", ""),
        ("", ""),
    ],
)
def test_clean_strips_reply_and_forward_prefixes(subject: str, expected: str) -> None:
    assert clean(subject) == expected


@pytest.mark.parametrize(
    "subject",
    [
        "Reunion: agenda",
        "Refund: where is it",
        "Resumo: outubro",
        "Awful: the app is slow",
        "Trial: extend it",
        "Rescheduling the call",
        "Ticket #12 status",
    ],
)
def test_words_that_start_like_prefixes_are_kept(subject: str) -> None:
    assert clean(subject) == subject


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("[ACME #12] Printer on fire", "Printer on fire"),
        ("Re: [ACME #12] Printer on fire", "Printer on fire"),
        ("[ACME #12] Re: Printer on fire", "Printer on fire"),
        ("RES: [Ticket #1046] Atualização cadastral", "Atualização cadastral"),
        ("Re: [OTHER-DESK #99] [ACME #12] Printer", "Printer"),
        ("Re: Printer on fire", "Printer on fire"),
        ("Printer [ACME #12] on fire", "Printer [ACME #12] on fire"),  # only a leading tag
        ("[ACME] Printer", "[ACME] Printer"),  # no number: not a tag
        ("[ACME #12]", ""),
    ],
)
def test_clean_removes_a_leading_tag(subject: str, expected: str) -> None:
    assert clean(subject) == expected


def test_clean_caps_length() -> None:
    assert clean("Re: " + "x" * 5000) == "x" * MAX_SUBJECT


def test_tag_and_tagged() -> None:
    assert tag("ACME", 12) == "[ACME #12]"
    assert tagged("ACME", 12, "Printer on fire") == "[ACME #12] Printer on fire"
    assert len(tagged("ACME", 12, "x" * 5000)) == MAX_SUBJECT


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("[ACME #12] Printer", 12),
        ("Re: [ACME #12] Printer", 12),
        ("Re: [acme #12] Printer", 12),  # some clients change case
        ("RE: [Acme #12] Printer", 12),
        ("Re: [ACME#12] Printer", 12),
        ("Re: [ACME  #12] Printer", 12),
        ("Printer [ACME #123456789012]", 123456789012),
        ("Fwd: [OTHER #7] Re: [ACME #12] Printer", 12),  # another desk's tag first
        ("Re: [ACME #12] was [ACME #13]", 12),
        ("Re: [OTHER #7] Printer", None),
        ("Re: [ACMEX #7] Printer", None),
        ("Re: [XACME #7] Printer", None),
        ("Re: [ACME #] Printer", None),
        ("Re: [ACME #12a] Printer", None),
        ("Re: ACME #12 Printer", None),
        ("Re: [#12] Printer", None),
        ("", None),
    ],
)
def test_ticket_in_tag(subject: str, expected: int | None) -> None:
    assert ticket_in_tag("ACME", subject) == expected


def test_ticket_in_tag_treats_the_prefix_literally() -> None:
    assert ticket_in_tag("T.K+", "Re: [T.K+ #5] x") == 5
    assert ticket_in_tag("T.K+", "Re: [TxKK #5] x") is None


@pytest.mark.parametrize("ticket", [1, 12, 1046, 999_999_999_999])
def test_tagged_subjects_round_trip(ticket: int) -> None:
    subject = "Re: " + tagged("Ticket", ticket, "Atualização cadastral")
    assert ticket_in_tag("Ticket", subject) == ticket
    assert clean(subject) == "Atualização cadastral"


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Fwd: Damaged pallet", True),
        ("FWD: Damaged pallet", True),
        ("FW: Damaged pallet", True),
        ("Fw : Damaged pallet", True),
        ("ENC: Boleto duplicado", True),
        ("WG: Rechnung", True),
        ("TR: Facture", True),
        ("RV: Factura", True),
        ("Doorst: Factuur", True),
        ("Fwd\uff1aDamaged pallet", True),
        ("  Fwd: Damaged pallet", True),
        ("Fwd: Re: Damaged pallet", True),
        ("Re: Fwd: Damaged pallet", False),
        ("Re: Damaged pallet", False),
        ("RES: Boleto duplicado", False),
        ("AW: Rechnung", False),
        ("SV: Faktura", False),
        ("Forward planning for Q3", False),
        ("Fwded items", False),
        ("", False),
    ],
)
def test_is_forward(subject: str, expected: bool) -> None:
    assert is_forward(subject) is expected


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Re: Printer on fire", True),
        ("RES: Impressora", True),
        ("AW: Drucker", True),
        ("SV: Skrivaren", True),
        ("Re[2]: Printer", True),
        ("Re: Fwd: Printer", True),
        ("Fwd: Re: Printer", False),  # a forward of a reply is a forward
        ("ENC: Impressora", False),
        ("Printer on fire", False),
        ("Reunion: agenda", False),
        ("[ACME #12] Re: Printer", False),  # the tag threads it first
        ("", False),
    ],
)
def test_is_reply(subject: str, expected: bool) -> None:
    assert is_reply(subject) is expected


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Re: Printer on fire", "Printer on fire"),
        ("RES: [ACME #12] Impressora não funciona", "impressora nao funciona"),
        ("Re:  Printer   on fire!", "printer on fire"),
        ("AW: Fatura de novembro está errada.", "Fatura de novembro esta errada"),
    ],
)
def test_subject_key_ignores_prefixes_case_accents_and_punctuation(one: str, other: str) -> None:
    assert subject_key(one) == subject_key(other)


def test_subject_key_keeps_what_tells_subjects_apart() -> None:
    assert subject_key("Invoice 2026-11 is wrong") != subject_key("Invoice 2026-10 is wrong")
    assert subject_key("Printer on fire") != subject_key("Printer not on fire")


@pytest.mark.parametrize(
    "subject",
    [
        "Help",
        "Re: Help!",
        "Ajuda",
        "RES: Ajuda",
        "Dúvida",
        "Question",
        "Problem",
        "Problema",
        "Urgent",
        "URGENTE!!!",
        "I need help please",
        "Preciso de ajuda urgente",
        "Bom dia",
        "Hello",
        "Support request",
        "",
        "Re:",
        "(no subject)",
    ],
)
def test_generic_subjects(subject: str) -> None:
    assert is_generic(subject)


@pytest.mark.parametrize(
    "subject",
    [
        "Printer help",
        "Help with invoice 2026-11",
        "Dúvida sobre a fatura",
        "Question about the VPN",
        "Problem logging in",
        "Urgent: server down",
        "Pedido 4471 não chegou",
    ],
)
def test_subjects_that_name_their_matter_are_not_generic(subject: str) -> None:
    assert not is_generic(subject)
