"""Return dates read from out-of-office replies, English and Portuguese, conservatively."""

from __future__ import annotations

from datetime import date

import pytest

from mailtickets.mail.absence import parse_date, return_date

TODAY = date(2026, 11, 2)


@pytest.mark.parametrize(
    ("text", "back"),
    [
        ("I am out of the office until 14/12/2026 with no access to email.", date(2026, 12, 14)),
        ("I will be back on Monday, November 16.", date(2026, 11, 16)),
        ("I'm away, returning on the 20th of November 2026.", date(2026, 11, 20)),
        ("Out until December 2nd.", date(2026, 12, 2)),
        ("On leave until 2026-11-30.", date(2026, 11, 30)),
        ("Estou fora do escritório até 14 de dezembro de 2026.", date(2026, 12, 14)),
        ("Estou de férias. Retorno em 20/11/2026.", date(2026, 11, 20)),
        ("Volto na segunda-feira, 16 de novembro.", date(2026, 11, 16)),
        ("Regresso no dia 20/11.", date(2026, 11, 20)),
        # A day that has passed this year is next year's.
        ("Back on 5 January.", date(2027, 1, 5)),
    ],
)
def test_dates_it_names(text: str, back: date) -> None:
    assert return_date("Automatic reply: Printer", text, TODAY) == back


@pytest.mark.parametrize(
    "text",
    [
        "I am out of the office with limited access to email.",
        "Back on 03/04/2027.",  # 3 April or March 4: no way to tell
        "Until 14:00 today I am in a meeting.",
        "Back in March.",
        "Out until 2026-10-01.",  # passed
        "Out until 2031-01-01.",  # more than a year ahead: a misreading more likely
        "Invoice 2026-12-14 attached.",  # a date, but not after "until" or "back"
        "Until 31/02/2027.",
    ],
)
def test_no_date_unless_it_is_clear(text: str) -> None:
    assert return_date("Automatic reply", text, TODAY) is None


def test_the_subject_is_read_too() -> None:
    assert return_date("Out of office until 16/11/2026", "", TODAY) == date(2026, 11, 16)


def test_command_dates() -> None:
    assert parse_date("2026-12-24") == date(2026, 12, 24)
    assert parse_date("24/12/2026") == date(2026, 12, 24)
    assert parse_date("12/24/2026") is None
    assert parse_date("tomorrow") is None
    assert parse_date("24/12") is None
