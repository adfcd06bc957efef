"""Business calendars: when a team is open, and business time counted in its opening hours.

A `Calendar` holds opening hours per weekday in the team's own zone (local wall time; several
intervals a day for a lunch break, none for a closed day), explicit holiday dates and,
optionally, a country ("BR", or "BR-SP" with a subdivision) whose public holidays the
`holidays` library supplies for whichever years are asked about. Its "optional" holidays
(Carnival in Brazil, say) are not included: list them among the explicit dates. Every function
takes timezone-aware datetimes and returns them in UTC; a naive datetime raises ValueError.

Wall-clock hours become real time like this: an interval "09:00-18:00" on a local date is open
from the first instant at which the local clock reaches 09:00 that day until the first instant
at which it reaches 18:00; a close of "24:00" (`END_OF_DAY`) is the next day's midnight. So:

- on an ordinary day it is what the clock says;
- on a spring-forward day the skipped hour does not exist: "00:00-06:00" in New York on
  2026-03-08 is 5 hours long, and a bound inside the gap (02:30) falls on the jump itself
  (03:00 EDT), the first moment the clock reads 02:30 or later, rather than an hour after
  it as zoneinfo's `fold=0` alone would put it;
- on a fall-back day a repeated time is reached at its first occurrence (`fold=0`):
  "00:00-06:00" on 2026-11-01 in New York is 7 hours long; an interval opening at 01:30 opens
  at 01:30 EDT and stays open through the repeated hour; one closing at 01:30 closes at
  01:30 EDT and does not reopen when the clock shows 01:00-01:30 again.

Open intervals are thus contiguous spans of real time, in order and never overlapping, and
`is_open`, `add_business_time` and `business_time_between` all count the same spans.

An interval cannot span midnight ("22:00-06:00" is refused): a night shift is written as
"22:00-24:00" on one day and "00:00-06:00" on the next, which also says which day's holiday
closes which part of it.

The functions walk open intervals day by day, never minute by minute.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType, ModuleType
from zoneinfo import ZoneInfo

from mailtickets.sla.hours import END_OF_DAY, WEEKDAY_NAMES, interval_text

Hours = Mapping[int, tuple[tuple[time, time], ...]]


_ZERO = timedelta(0)
_ONE_DAY = timedelta(days=1)
# A calendar that opens at all opens within a year; one that has gone longer without opening
# (every open weekday listed as a holiday, say) never will, and searching on would not end.
_MAX_CLOSED_DAYS = 370


@dataclass(frozen=True)
class Calendar:
    """A team's opening hours in its own time zone, less its holidays."""

    name: str
    zone: ZoneInfo
    # Weekday (0 = Monday) -> open intervals in local wall time, in order; a missing weekday
    # is closed. Stored read-only; excluded from the hash because a mapping is not hashable.
    hours: Hours = field(hash=False)
    holidays: frozenset[date] = frozenset()
    # "BR" or "BR-SP": public holidays of that country (and subdivision) are closed too.
    country: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "hours", _checked_hours(self.name, self.hours))
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        if self.country is not None:
            _check_country(self.name, self.country)

    @classmethod
    def always_open(cls, name: str = "24/7") -> Calendar:
        """The calendar that never closes: business time is plain elapsed time."""
        whole_day = ((time(0), END_OF_DAY),)
        return cls(name, ZoneInfo("UTC"), dict.fromkeys(range(7), whole_day))

    @property
    def ever_open(self) -> bool:
        """Whether any weekday has opening hours at all."""
        return any(self.hours.values())

    def is_holiday(self, day: date) -> bool:
        """Whether the local date `day` is closed as an explicit or a country holiday."""
        if day in self.holidays:
            return True
        return self.country is not None and day in _country_holidays(self.country, day.year)


def is_open(calendar: Calendar, moment: datetime) -> bool:
    """Whether `moment` falls inside one of the calendar's open intervals."""
    instant = _utc(moment, "moment")
    day = _local_day(calendar, instant)
    # A fall-back across midnight can put an instant of local date D after D+1's midnight
    # was first reached, so the neighbouring days are looked at too.
    return any(
        opens <= instant < closes
        for offset in (-1, 0, 1)
        for opens, closes in _day_spans(calendar, day + offset * _ONE_DAY)
    )


def add_business_time(calendar: Calendar, start: datetime, duration: timedelta) -> datetime:
    """The earliest instant by which `duration` of business time has passed since `start`.

    A zero duration gives `start` itself; otherwise the result lies in an open interval or at
    its close (9 hours from 09:00 in a 09:00-18:00 calendar is 18:00 the same day).
    Raises ValueError for a negative duration and for a calendar that never opens.
    """
    left = duration
    instant = _utc(start, "start")
    if left < _ZERO:
        raise ValueError(f"calendar {calendar.name!r}: cannot add a negative duration {left}")
    if left == _ZERO:
        return instant
    if not calendar.ever_open:
        raise ValueError(f"calendar {calendar.name!r} has no opening hours on any day")
    for opens, closes in _spans_from(calendar, _local_day(calendar, instant) - _ONE_DAY):
        if closes <= instant:
            continue
        opens = max(opens, instant)
        if left <= closes - opens:
            return opens + left
        left -= closes - opens
    raise AssertionError("_spans_from ends only by raising")


def next_opening(calendar: Calendar, moment: datetime) -> datetime:
    """`moment` when the calendar is open then, else the instant it next opens.

    Raises ValueError for a calendar that never opens.
    """
    instant = _utc(moment, "moment")
    if not calendar.ever_open:
        raise ValueError(f"calendar {calendar.name!r} has no opening hours on any day")
    for opens, closes in _spans_from(calendar, _local_day(calendar, instant) - _ONE_DAY):
        if closes > instant:
            return max(opens, instant)
    raise AssertionError("_spans_from ends only by raising")


def business_time_between(calendar: Calendar, start: datetime, end: datetime) -> timedelta:
    """Business time from `start` to `end`; negative when `end` comes before `start`."""
    first, last = _utc(start, "start"), _utc(end, "end")
    if last < first:
        return -business_time_between(calendar, last, first)
    total = _ZERO
    day, last_day = _local_day(calendar, first) - _ONE_DAY, _local_day(calendar, last) + _ONE_DAY
    while day <= last_day:
        for opens, closes in _day_spans(calendar, day):
            overlap = min(closes, last) - max(opens, first)
            if overlap > _ZERO:
                total += overlap
        day += _ONE_DAY
    return total


def _spans_from(calendar: Calendar, day: date) -> Iterator[tuple[datetime, datetime]]:
    """Open spans in time order from the local date `day` on, without end."""
    closed_days = 0
    while True:
        opened = False
        for span in _day_spans(calendar, day):
            opened = True
            yield span
        closed_days = 0 if opened else closed_days + 1
        if closed_days > _MAX_CLOSED_DAYS:
            raise ValueError(
                f"calendar {calendar.name!r} does not open in the {_MAX_CLOSED_DAYS} days"
                f" up to {day.isoformat()}: every open day is a holiday"
            )
        day += _ONE_DAY


@lru_cache(maxsize=4096)
def _day_spans(calendar: Calendar, day: date) -> tuple[tuple[datetime, datetime], ...]:
    # Cached: a sweep computes the due times of a hundred tickets, whose budgets walk over
    # mostly the same days, and each day's bounds cost a few time zone conversions.
    if calendar.is_holiday(day):
        return ()
    spans = []
    for opens, closes in calendar.hours.get(day.weekday(), ()):
        start = _reached(calendar.zone, day, opens)
        if closes == END_OF_DAY:
            end = _reached(calendar.zone, day + _ONE_DAY, time(0))
        else:
            end = _reached(calendar.zone, day, closes)
        # Both bounds inside one spring-forward gap: the interval never happens that day.
        if start < end:
            spans.append((start, end))
    return tuple(spans)


def _reached(zone: ZoneInfo, day: date, wall: time) -> datetime:
    """The first instant, in UTC, at which the clock in `zone` reads `wall` on `day` or later."""
    local = datetime.combine(day, wall, tzinfo=zone)  # fold=0: the first of a repeated time
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None):
        return instant
    # `wall` was skipped: fold=1 reads it with the offset before the jump, landing before it,
    # and fold=0 with the one after, landing after it. The clock reaches `wall` at the jump.
    return _jump_between(zone, local.replace(fold=1).astimezone(UTC), instant)


def _jump_between(zone: ZoneInfo, before: datetime, after: datetime) -> datetime:
    """The instant in (before, after] at which `zone` takes the UTC offset it has at `after`."""
    target = after.astimezone(zone).utcoffset()
    base = before.replace(microsecond=0)
    low, high = 0, int((after - base).total_seconds())  # offsets differ at low, match at high
    # Offsets change on whole seconds; a gap is at most a few hours, so this is ~14 steps.
    while high - low > 1:
        middle = (low + high) // 2
        if (base + timedelta(seconds=middle)).astimezone(zone).utcoffset() == target:
            high = middle
        else:
            low = middle
    return base + timedelta(seconds=high)


def _local_day(calendar: Calendar, instant: datetime) -> date:
    return instant.astimezone(calendar.zone).date()


def _utc(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


def _checked_hours(name: str, hours: Hours) -> Mapping[int, tuple[tuple[time, time], ...]]:
    checked: dict[int, tuple[tuple[time, time], ...]] = dict.fromkeys(range(7), ())
    for weekday, intervals in hours.items():
        if weekday not in checked:
            raise ValueError(f"calendar {name!r}: weekday {weekday!r} is not 0 (Monday) .. 6")
        label = f"calendar {name!r}, {WEEKDAY_NAMES[weekday]}"
        previous_close: time | None = None
        for opens, closes in intervals:
            if opens.tzinfo is not None or closes.tzinfo is not None:
                raise ValueError(f"{label}: hours are local wall times, without a tzinfo")
            if opens >= closes or opens == END_OF_DAY:
                raise ValueError(f"{label}: {interval_text(opens, closes)} does not open first")
            if previous_close is not None and opens < previous_close:
                raise ValueError(f"{label}: intervals must be in order and not overlap")
            previous_close = closes
        checked[weekday] = tuple(intervals)
    return MappingProxyType(checked)


def _check_country(name: str, country: str) -> None:
    code, subdivision = _split_country(country)
    try:
        _holidays_library().country_holidays(code, subdiv=subdivision)
    except NotImplementedError as error:
        raise ValueError(
            f"calendar {name!r}: country {country!r} is unknown to the holidays library ({error})"
        ) from error


@lru_cache(maxsize=256)
def _country_holidays(country: str, year: int) -> frozenset[date]:
    code, subdivision = _split_country(country)
    return frozenset(_holidays_library().country_holidays(code, subdiv=subdivision, years=year))


def _holidays_library() -> ModuleType:
    # Imported when a calendar names a country: the library takes longer to import than the
    # command line takes to list tickets.
    import holidays

    return holidays


def _split_country(country: str) -> tuple[str, str | None]:
    code, _, subdivision = country.partition("-")
    return code.strip().upper(), subdivision.strip() or None


# Built last: constructing a Calendar uses the helpers above.
ALWAYS_OPEN = Calendar.always_open()
"""The "24/7" calendar, the default where no business hours are configured."""
