"""The quoted part of a reply, and whether it repeats a message: evidence for threading."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mailtickets.mail.quoted import Quote, words
from mailtickets.mail.quotes import new_text

ANSWER = "Please restart the printer and tell us what the display says after that."


def _quote(body: str) -> Quote:
    return Quote.of(body, new_text(body))


def test_words_are_lower_case_without_accents_or_punctuation() -> None:
    assert words("Não, É  a impressora!\n> Já?") == ("nao", "e", "a", "impressora", "ja")


def test_the_quote_is_what_the_new_text_left_out() -> None:
    body = (
        "It says E42.\n\n"
        "On Mon, 2 Nov 2026 at 10:00, Support <support@acme.example> wrote:\n"
        "> Please restart the printer and tell us what\n"
        "> the display says after that.\n"
    )
    quote = _quote(body)
    assert quote.marked
    assert "It says E42." not in quote.text
    assert quote.repeats(ANSWER) > 0


@pytest.mark.parametrize(
    "quoted",
    [
        # Rewrapped, nested, in another case: the words in a row are what counts.
        "> > please restart the PRINTER and\n> > tell us what the display says\n",
        # Outlook quotes without marks, under a header block.
        "From: Support <support@acme.example>\nSent: Monday, November 2, 2026 10:00\n"
        "To: Ana\nSubject: [ACME #12] Printer on fire\n\nPlease restart the printer and tell "
        "us what the display says after that.\n",
    ],
)
def test_a_quote_repeats_a_message_however_the_client_wrapped_it(quoted: str) -> None:
    assert _quote(f"Done.\n\n{quoted}").repeats(ANSWER) > 0


def test_a_quote_of_other_text_repeats_nothing() -> None:
    quote = _quote("Done.\n\n> The quarterly report is due on Friday, send the figures.\n")
    assert quote.repeats(ANSWER) == 0


def test_a_few_shared_words_are_no_quote() -> None:
    # "restart the printer and" alone is one run of four words: common phrasing, not a quote.
    quote = _quote("Done.\n\n> Did you restart the printer and the router?\n")
    assert quote.repeats(ANSWER) == 0


def test_a_short_message_counts_when_quoted_whole() -> None:
    quote = _quote("It worked.\n\n> Please restart it.\n> Alice\n")
    assert quote.repeats("Please restart it.") > 0
    assert quote.repeats("Restart it.") == 0  # two words prove nothing
    assert quote.repeats("Please reboot it.") == 0


def test_a_signature_is_no_marked_quote() -> None:
    body = "Any news?\n\n-- \nAna Cliente\nACME Corp, Lisboa\n"
    quote = _quote(body)
    assert not quote.marked
    assert quote.repeats(ANSWER) == 0


def test_the_new_text_is_never_taken_for_a_quote() -> None:
    # The customer writes the same sentence again: no quote of anything.
    assert _quote(ANSWER).repeats(ANSWER) == 0


def test_inline_answers_keep_their_quoted_questions_as_the_quote() -> None:
    body = (
        "On Mon, 2 Nov 2026 at 10:00, Support <support@acme.example> wrote:\n"
        "> Please restart the printer and tell us what\n"
        "Done.\n"
        "> the display says after that.\n"
        "E42.\n"
    )
    assert _quote(body).repeats(ANSWER) > 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("> We have received your request and opened ticket #12:", True),
        ("> Subject: [ACME #12] Printer on fire", True),
        ("> chamado #12:", True),
        ("> ticket #123", False),
        ("> ticket #1", False),
        ("> ##12", False),
        ("> order12", False),
    ],
)
def test_names_ticket(text: str, expected: bool) -> None:
    assert _quote(f"Thanks.\n\n{text}\n").names_ticket(12) is expected


WHEN = datetime(2026, 11, 2, 12, 47, tzinfo=UTC)


@pytest.mark.parametrize(
    "attribution",
    [
        "On 2 Nov 2026, at 12:47, Ana <ana@example.com> wrote:",
        "Em seg., 2 de nov. de 2026 às 09:47, Ana <ana@example.com> escreveu:",  # UTC-3
        "Em 02/11/2026 às 9h47, Ana escreveu:",
        "On Mon, Nov 2, 2026 at 7:47 AM Ana <ana@example.com> wrote:",
    ],
)
def test_the_attribution_gives_the_minute_of_the_quoted_mail(attribution: str) -> None:
    quote = _quote(f"Still broken.\n\n{attribution}\n> Thanks, it still fails.\n")
    assert quote.dates(WHEN)
    assert not quote.dates(WHEN.replace(minute=48))
    assert not quote.dates(None)


def test_an_outlook_header_block_gives_the_minute_too() -> None:
    body = (
        "Still broken.\n\nFrom: Ana <ana@example.com>\nSent: 02/11/2026 12:47\n"
        "To: support@acme.example\nSubject: Printer\n\nThanks, it still fails.\n"
    )
    assert _quote(body).dates(WHEN)


def test_times_deep_in_the_quote_are_no_attribution() -> None:
    lines = "".join(f"> line {n}\n" for n in range(10))
    assert not _quote(f"Hi.\n\n{lines}> the meeting is at 12:47\n").dates(WHEN)
