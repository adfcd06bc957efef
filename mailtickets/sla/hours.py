"""Opening hours as the config writes them: days, ranges of days and "HH:MM-HH:MM" intervals.

`parse_hours` turns ``{"mon-fri": "09:00-12:00,13:00-18:00"}`` into the weekday table a
`Calendar` holds, and says in one line which key and value are wrong when one is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import time
from itertools import pairwise

END_OF_DAY = time.max
"""As the close of an interval: midnight at the end of the day, written "24:00"."""


WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")


_CLOSED = frozenset({"", "closed"})


def parse_hours(spec: Mapping[str, str]) -> dict[int, tuple[tuple[time, time], ...]]:
    """Opening hours from config such as ``{"mon-fri": "09:00-12:00,13:00-18:00"}``.

    Keys name days: "mon" .. "sun", ranges such as "mon-fri" (wrapping: "sun-thu") and comma
    lists such as "mon-wed,fri". Values are comma-separated "HH:MM-HH:MM" intervals of local
    wall time ("24:00" closes at midnight), or "closed". A day named by several keys gets the
    intervals of all of them, so a night shift reads ``{"mon-fri": "22:00-24:00",
    "tue-sat": "00:00-06:00"}``; intervals that overlap, a day both opened and "closed", an
    interval spanning midnight and a week with no opening hours raise ValueError naming the
    key and value. A day no key names is closed. The result has all seven weekdays (0 = Monday).
    """
    found: dict[int, list[tuple[time, time, str]]] = {weekday: [] for weekday in range(7)}
    closed_by: dict[int, str] = {}
    for key, value in spec.items():
        intervals = _parse_intervals(key, value)
        for weekday in _parse_days(key):
            if not intervals:
                closed_by[weekday] = key
            found[weekday].extend((opens, closes, key) for opens, closes in intervals)
    hours = {
        weekday: _day_hours(WEEKDAY_NAMES[weekday], entries, closed_by.get(weekday))
        for weekday, entries in found.items()
    }
    if not any(hours.values()):
        raise ValueError('hours open on no day: give at least one, e.g. "mon-fri" = "09:00-18:00"')
    return hours


def _day_hours(
    day: str, entries: list[tuple[time, time, str]], closed_by: str | None
) -> tuple[tuple[time, time], ...]:
    """One day's intervals from every key that names it, checked against each other."""
    if entries and closed_by is not None:
        raise ValueError(
            f"hours {closed_by!r}: {day} is closed here but opened by {entries[0][2]!r}"
        )
    entries = sorted(entries)
    for (opens, closes, earlier), (later_opens, later_closes, later) in pairwise(entries):
        if later_opens < closes:
            source = ""
            if later != earlier:
                source = f" from {earlier!r} (days named by several keys get all their intervals)"
            raise ValueError(
                f"hours {later!r}: on {day}, {interval_text(later_opens, later_closes)}"
                f" overlaps {interval_text(opens, closes)}{source}"
            )
    return tuple((opens, closes) for opens, closes, _ in entries)


def _parse_days(key: str) -> list[int]:
    days: list[int] = []
    for part in key.lower().split(","):
        first, dash, last = (piece.strip() for piece in part.partition("-"))
        start = _weekday(key, first)
        stop = _weekday(key, last) if dash else start
        span = (stop - start) % 7 + 1
        for weekday in ((start + step) % 7 for step in range(span)):
            if weekday in days:
                raise ValueError(f"hours {key!r}: names {WEEKDAY_NAMES[weekday]} twice")
            days.append(weekday)
    return days


def _weekday(key: str, text: str) -> int:
    if text not in WEEKDAY_NAMES:
        raise ValueError(
            f"hours {key!r}: {text!r} is not a day; use mon, tue, wed, thu, fri, sat, sun,"
            ' a range such as "mon-fri" or a list such as "mon,wed"'
        )
    return WEEKDAY_NAMES.index(text)


def _parse_intervals(key: str, value: object) -> tuple[tuple[time, time], ...]:
    if not isinstance(value, str):
        raise ValueError(f'hours {key!r}: must be a string such as "09:00-18:00"')
    if value.strip().lower() in _CLOSED:
        return ()
    intervals: list[tuple[time, time]] = []
    for part in value.split(","):
        opens_text, dash, closes_text = (piece.strip() for piece in part.partition("-"))
        if not dash:
            raise ValueError(f'hours {key!r} = {value!r}: {part.strip()!r} is not "HH:MM-HH:MM"')
        opens = _parse_time(key, value, opens_text, closing=False)
        closes = _parse_time(key, value, closes_text, closing=True)
        if closes < opens:
            raise ValueError(
                f"hours {key!r} = {value!r}: {part.strip()!r} spans midnight; write it as"
                f' "{opens_text}-24:00" on one day and "00:00-{closes_text}" on the next'
            )
        if closes == opens:
            raise ValueError(f"hours {key!r} = {value!r}: {part.strip()!r} is empty")
        intervals.append((opens, closes))
    return tuple(intervals)


def _parse_time(key: str, value: str, text: str, *, closing: bool) -> time:
    match = _TIME.match(text)
    if match is None:
        raise ValueError(f'hours {key!r} = {value!r}: {text!r} is not a time "HH:MM"')
    hour, minute = int(match[1]), int(match[2])
    if (hour, minute) == (24, 0):
        if not closing:
            raise ValueError(f'hours {key!r} = {value!r}: "24:00" can only close an interval')
        return END_OF_DAY
    if hour > 23 or minute > 59:
        raise ValueError(f"hours {key!r} = {value!r}: {text!r} is not a time of day")
    return time(hour, minute)


def interval_text(opens: time, closes: time) -> str:
    close = "24:00" if closes == END_OF_DAY else closes.strftime("%H:%M")
    return f"{opens.strftime('%H:%M')}-{close}"
