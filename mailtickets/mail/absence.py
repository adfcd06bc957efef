"""Dates of absence: the one an agent names in `#away until DATE`, and the one an
out-of-office reply names for the agent's return, in English or Portuguese.

Reading an out-of-office reply is conservative: a date counts only right after words that
say "until" or "back on" ("until", "till", "back on", "return on", "returning", "até",
"retorno", "volto", "regresso"), written as 2026-12-14, 14/12/2026, 14.12.2026,
"14 December 2026", "December 14, 2026" or "14 de dezembro de 2026". A day and month that
could be either way round (03/04/2026) are read day first only when no other reading is
possible; otherwise the reply names no date. A date without a year is the next one to come.
"""

from __future__ import annotations

import re
from datetime import date

MONTHS = {
    **{
        name: number
        for number, names in enumerate(
            (
                ("january", "jan", "janeiro", "jan."),
                ("february", "feb", "fevereiro", "fev"),
                ("march", "mar", "março", "marco"),
                ("april", "apr", "abril", "abr"),
                ("may", "maio", "mai"),
                ("june", "jun", "junho"),
                ("july", "jul", "julho"),
                ("august", "aug", "agosto", "ago"),
                ("september", "sep", "sept", "setembro", "set"),
                ("october", "oct", "outubro", "out"),
                ("november", "nov", "novembro"),
                ("december", "dec", "dezembro", "dez"),
            ),
            start=1,
        )
        for name in names
    }
}

#: The furthest ahead a return date may be: a later one is more likely a misreading.
MAX_DAYS_AHEAD = 366

_CUE = (
    r"(?:until|till|til|through|back\s+on|back|return(?:ing)?\s+on|returning|return|"
    r"até|ate|retorno\s+(?:em|no\s+dia|dia)|retorno|volto\s+(?:em|no\s+dia|dia)|volto|"
    r"regresso\s+(?:em|no\s+dia|dia)|regresso)"
)
_WEEKDAY = (
    r"(?:(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"segunda|terça|terca|quarta|quinta|sexta|sábado|sabado|domingo)(?:-feira)?,?\s+)?"
)
_MONTH = r"([a-zç]{3,9}\.?)"
_YEAR = r"(?:,?\s+(?:de\s+)?(\d{4}))?"
_PATTERNS = (
    ("iso", re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})\b")),
    ("numeric", re.compile(r"(\d{1,2})[/.](\d{1,2})(?:[/.](\d{4}))?\b")),
    (
        "day_month",
        re.compile(r"(\d{1,2})(?:st|nd|rd|th)?\s+(?:de\s+|of\s+)?" + _MONTH + _YEAR, re.I),
    ),
    ("month_day", re.compile(_MONTH + r"\s+(\d{1,2})(?:st|nd|rd|th)?\b" + _YEAR, re.I)),
)
_FOLLOWED = re.compile(
    _CUE + r"\s+(?:the\s+|o\s+dia\s+|dia\s+|em\s+|on\s+|na\s+|no\s+)?" + _WEEKDAY, re.I
)


def parse_date(text: str) -> date | None:
    """A date as an agent writes one in a command: 2026-12-14 or 14/12/2026."""
    text = text.strip()
    for kind, pattern in _PATTERNS[:2]:
        found = pattern.fullmatch(text)
        if found is not None:
            return _build(kind, found.groups(), None)
    return None


def return_date(subject: str, text: str, today: date) -> date | None:
    """The date an out-of-office reply says its writer is back (or away until), if it names
    one clearly: after `today` and within a year; otherwise None."""
    for source in (subject, text[:4000]):
        for cue in _FOLLOWED.finditer(source):
            rest = source[cue.end() : cue.end() + 40]
            for kind, pattern in _PATTERNS:
                found = pattern.match(rest)
                if found is None:
                    continue
                named = _build(kind, found.groups(), today)
                if named is not None and 0 < (named - today).days <= MAX_DAYS_AHEAD:
                    return named
                break
    return None


def _build(kind: str, groups: tuple[str | None, ...], today: date | None) -> date | None:
    if kind == "iso":
        return _date(*(int(g or 0) for g in groups))
    if kind == "numeric":
        return _numeric(int(groups[0] or 0), int(groups[1] or 0), groups[2], today)
    day, month, year = groups if kind == "day_month" else (groups[1], groups[0], groups[2])
    number = MONTHS.get((month or "").lower().rstrip("."))
    if number is None:
        return None
    found = _date(_year(year, today), number, int(day or 0))
    return _next(found, today) if year is None else found


def _numeric(first: int, second: int, year: str | None, today: date | None) -> date | None:
    """Day first; a reading month first too where that is a date, and then none."""
    readings = {_date(_year(year, today), second, first)}
    if first <= 12 and second <= 12 and first != second:
        readings.add(_date(_year(year, today), first, second))
    readings.discard(None)
    found = readings.pop() if len(readings) == 1 else None
    return _next(found, today) if year is None else found


def _year(year: str | None, today: date | None) -> int:
    if year is not None:
        return int(year)
    return today.year if today is not None else 0


def _next(found: date | None, today: date | None) -> date | None:
    """A date written without its year: this year's, or next year's once this one passed."""
    if found is None or today is None or found > today:
        return found
    return _date(found.year + 1, found.month, found.day)


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None
