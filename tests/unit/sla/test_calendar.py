"""Business calendars: nights, weekends, holidays, DST, parsing, and round-trip properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailtickets.sla.calendar import (
    ALWAYS_OPEN,
    Calendar,
    add_business_time,
    business_time_between,
    is_open,
)
from mailtickets.sla.hours import END_OF_DAY, parse_hours

NEW_YORK = ZoneInfo("America/New_York")
LISBON = ZoneInfo("Europe/Lisbon")
SAO_PAULO = ZoneInfo("America/Sao_Paulo")


def local(
    zone: ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0
) -> datetime:
    """An unambiguous local wall time, as the UTC instant the functions take and return."""
    return datetime(year, month, day, hour, minute, tzinfo=zone).astimezone(UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def h(hours: float) -> timedelta:
    return timedelta(hours=hours)


def calendar(zone: ZoneInfo, spec: dict[str, str], country: str | None = None) -> Calendar:
    return Calendar(f"test {spec}", zone, parse_hours(spec), country=country)


OFFICE_NY = calendar(NEW_YORK, {"mon-fri": "09:00-17:00"})
OFFICE_SP = calendar(SAO_PAULO, {"mon-fri": "09:00-12:00,13:00-18:00"}, country="BR-SP")
SHOP_LISBON = Calendar(
    "lisbon shop",
    LISBON,
    parse_hours({"mon-fri": "09:00-18:00", "sat": "09:00-13:00"}),
    holidays=frozenset({date(2026, 12, 24)}),
    country="PT",
)
NIGHT_SHIFT_NY = calendar(NEW_YORK, {"mon-fri": "22:00-24:00", "tue-sat": "00:00-06:00"})


def ny(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return local(NEW_YORK, year, month, day, hour, minute)


def sp(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return local(SAO_PAULO, year, month, day, hour, minute)


def lx(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return local(LISBON, year, month, day, hour, minute)


ADD_CASES = [
    # (label, calendar, start, duration, expected)
    ("same day", OFFICE_NY, ny(2026, 5, 11, 10), h(2), ny(2026, 5, 11, 12)),
    ("over the night", OFFICE_NY, ny(2026, 5, 11, 16), h(2), ny(2026, 5, 12, 10)),
    ("over the weekend", OFFICE_NY, ny(2026, 5, 15, 16), h(2), ny(2026, 5, 18, 10)),
    ("start while closed", OFFICE_NY, ny(2026, 5, 16, 12), h(1), ny(2026, 5, 18, 10)),
    ("exactly to closing", OFFICE_NY, ny(2026, 5, 11, 9), h(8), ny(2026, 5, 11, 17)),
    ("weekend with DST start", OFFICE_NY, utc(2026, 3, 6, 21), h(2), utc(2026, 3, 9, 14)),
    ("weekend with DST end", OFFICE_NY, utc(2026, 10, 30, 20), h(2), utc(2026, 11, 2, 15)),
    ("into the lunch break", OFFICE_SP, sp(2026, 5, 11, 11, 30), h(1), sp(2026, 5, 11, 13, 30)),
    ("from the lunch break", OFFICE_SP, sp(2026, 5, 11, 12, 15), h(1), sp(2026, 5, 11, 14)),
    ("national holiday", OFFICE_SP, sp(2026, 11, 19, 17), h(2), sp(2026, 11, 23, 10)),
    ("state holiday (BR-SP)", OFFICE_SP, sp(2026, 7, 8, 17), h(2), sp(2026, 7, 10, 10)),
    ("carnival is optional", OFFICE_SP, sp(2026, 2, 13, 17), h(2), sp(2026, 2, 16, 10)),
    ("30 business days", OFFICE_SP, sp(2026, 1, 5, 9), h(8 * 30), sp(2026, 2, 13, 18)),
    ("explicit + country holiday", SHOP_LISBON, lx(2026, 12, 23, 17), h(2), lx(2026, 12, 26, 10)),
    ("saturday hours", SHOP_LISBON, lx(2026, 5, 15, 17, 30), h(1), lx(2026, 5, 16, 9, 30)),
    ("night shift over midnight", NIGHT_SHIFT_NY, ny(2026, 5, 11, 23), h(3), ny(2026, 5, 12, 2)),
    ("night shift, friday night", NIGHT_SHIFT_NY, ny(2026, 5, 15, 23), h(8), ny(2026, 5, 18, 23)),
    ("24/7", ALWAYS_OPEN, utc(2026, 5, 16, 12), timedelta(days=30), utc(2026, 6, 15, 12)),
    ("zero while closed", OFFICE_NY, ny(2026, 5, 16, 12), h(0), ny(2026, 5, 16, 12)),
]


@pytest.mark.parametrize(
    ("calendar", "start", "duration", "expected"),
    [case[1:] for case in ADD_CASES],
    ids=[case[0] for case in ADD_CASES],
)
def test_add_business_time(
    calendar: Calendar, start: datetime, duration: timedelta, expected: datetime
) -> None:
    due = add_business_time(calendar, start, duration)
    assert due == expected
    assert due.tzinfo is UTC
    assert business_time_between(calendar, start, due) == duration


def test_inputs_in_other_zones_mean_the_same_instant() -> None:
    start = datetime(2026, 5, 11, 16, tzinfo=NEW_YORK)
    assert add_business_time(OFFICE_NY, start, h(2)) == ny(2026, 5, 12, 10)
    assert business_time_between(OFFICE_NY, start, start.astimezone(LISBON) + h(24)) == h(8)


BETWEEN_CASES = [
    ("within a day", OFFICE_NY, ny(2026, 5, 11, 10), ny(2026, 5, 11, 15), h(5)),
    ("a working week", OFFICE_NY, ny(2026, 5, 11), ny(2026, 5, 18), h(40)),
    ("weekend only", OFFICE_NY, ny(2026, 5, 16), ny(2026, 5, 18), h(0)),
    ("lunch break left out", OFFICE_SP, sp(2026, 5, 11, 11), sp(2026, 5, 11, 14), h(2)),
    ("november 2026 in São Paulo", OFFICE_SP, sp(2026, 11, 1), sp(2026, 12, 1), h(8 * 19)),
    ("backwards is negative", OFFICE_NY, ny(2026, 5, 12, 10), ny(2026, 5, 11, 16), h(-2)),
    ("24/7 is elapsed time", ALWAYS_OPEN, utc(2026, 1, 1), utc(2027, 1, 1), timedelta(days=365)),
]


@pytest.mark.parametrize(
    ("calendar", "start", "end", "expected"),
    [case[1:] for case in BETWEEN_CASES],
    ids=[case[0] for case in BETWEEN_CASES],
)
def test_business_time_between(
    calendar: Calendar, start: datetime, end: datetime, expected: timedelta
) -> None:
    assert business_time_between(calendar, start, end) == expected


IS_OPEN_CASES = [
    ("before opening", OFFICE_NY, ny(2026, 5, 11, 8, 59), False),
    ("at opening", OFFICE_NY, ny(2026, 5, 11, 9), True),
    ("just before closing", OFFICE_NY, ny(2026, 5, 11, 16, 59), True),
    ("at closing", OFFICE_NY, ny(2026, 5, 11, 17), False),
    ("saturday", OFFICE_NY, ny(2026, 5, 16, 12), False),
    ("lunch", OFFICE_SP, sp(2026, 5, 11, 12, 30), False),
    ("consciência negra 2026", OFFICE_SP, sp(2026, 11, 20, 10), False),
    ("20 november 2023, before it was national", OFFICE_SP, sp(2023, 11, 20, 10), True),
    ("explicit holiday", SHOP_LISBON, lx(2026, 12, 24, 10), False),
    ("night shift after midnight", NIGHT_SHIFT_NY, ny(2026, 5, 12, 1), True),
    ("night shift, sunday night", NIGHT_SHIFT_NY, ny(2026, 5, 17, 23), False),
    ("24/7", ALWAYS_OPEN, utc(2026, 12, 25, 3), True),
]


@pytest.mark.parametrize(
    ("calendar", "moment", "expected"),
    [case[1:] for case in IS_OPEN_CASES],
    ids=[case[0] for case in IS_OPEN_CASES],
)
def test_is_open(calendar: Calendar, moment: datetime, expected: bool) -> None:
    assert is_open(calendar, moment) is expected


def test_brazilian_holidays_as_the_library_gives_them() -> None:
    national = holidays.country_holidays("BR", years=range(2023, 2027))
    assert "Black Awareness" in national[date(2026, 11, 20)]
    assert date(2024, 11, 20) in national
    assert date(2023, 11, 20) not in national  # national only from 2024 on
    assert date(2026, 2, 17) not in national  # Carnival is an "optional" holiday
    state = holidays.country_holidays("BR", subdiv="SP", years=2026)
    assert date(2026, 7, 9) in state and date(2026, 7, 9) not in national
    assert OFFICE_SP.is_holiday(date(2026, 11, 20))
    assert OFFICE_SP.is_holiday(date(2026, 7, 9))
    assert not OFFICE_SP.is_holiday(date(2026, 2, 17))


# Local 24/7 calendars and a Sunday-night shift, in zones with DST changes on these Sundays.
DST_CASES = [
    # (label, zone, hours, the Sunday, open business time that Sunday)
    ("NY spring, whole day", NEW_YORK, "00:00-24:00", date(2026, 3, 8), h(23)),
    ("NY autumn, whole day", NEW_YORK, "00:00-24:00", date(2026, 11, 1), h(25)),
    ("NY spring, 00-06", NEW_YORK, "00:00-06:00", date(2026, 3, 8), h(5)),
    ("NY autumn, 00-06", NEW_YORK, "00:00-06:00", date(2026, 11, 1), h(7)),
    ("NY spring, opens in the gap", NEW_YORK, "02:30-09:00", date(2026, 3, 8), h(6)),
    ("NY spring, closes in the gap", NEW_YORK, "01:00-02:30", date(2026, 3, 8), h(1)),
    ("NY spring, wholly in the gap", NEW_YORK, "02:00-02:30", date(2026, 3, 8), h(0)),
    ("NY spring, gap hours a week later", NEW_YORK, "02:00-02:30", date(2026, 3, 15), h(0.5)),
    ("NY autumn, opens in the repeat", NEW_YORK, "01:30-09:00", date(2026, 11, 1), h(8.5)),
    ("NY autumn, closes in the repeat", NEW_YORK, "00:00-01:30", date(2026, 11, 1), h(1.5)),
    ("Lisbon spring, whole day", LISBON, "00:00-24:00", date(2026, 3, 29), h(23)),
    ("Lisbon autumn, whole day", LISBON, "00:00-24:00", date(2026, 10, 25), h(25)),
    ("Lisbon spring, 00-06", LISBON, "00:00-06:00", date(2026, 3, 29), h(5)),
    ("Lisbon autumn, 00-06", LISBON, "00:00-06:00", date(2026, 10, 25), h(7)),
    ("Lisbon spring, opens in the gap", LISBON, "01:30-09:00", date(2026, 3, 29), h(7)),
    ("Lisbon autumn, opens in the repeat", LISBON, "01:30-09:00", date(2026, 10, 25), h(8.5)),
]


@pytest.mark.parametrize(
    ("zone", "hours", "sunday", "expected"),
    [case[1:] for case in DST_CASES],
    ids=[case[0] for case in DST_CASES],
)
def test_dst_days_are_shorter_or_longer(
    zone: ZoneInfo, hours: str, sunday: date, expected: timedelta
) -> None:
    sundays = calendar(zone, {"sun": hours})
    saturday = datetime.combine(sunday - timedelta(days=1), time(12), tzinfo=zone)
    monday = datetime.combine(sunday + timedelta(days=1), time(12), tzinfo=zone)
    assert business_time_between(sundays, saturday, monday) == expected


DST_BOUNDARY_CASES = [
    # (label, zone, hours, instant, open?) — see the calendar module docstring
    ("NY gap: not open before the jump", NEW_YORK, "02:30-09:00", utc(2026, 3, 8, 6, 59), False),
    ("NY gap: open from the jump", NEW_YORK, "02:30-09:00", utc(2026, 3, 8, 7), True),
    ("NY gap: closes at the jump", NEW_YORK, "01:00-02:30", utc(2026, 3, 8, 7), False),
    ("NY repeat: open at first 01:30", NEW_YORK, "01:30-09:00", utc(2026, 11, 1, 5, 30), True),
    ("NY repeat: stays open in it", NEW_YORK, "01:30-09:00", utc(2026, 11, 1, 6, 15), True),
    ("NY repeat: closed at first 01:30", NEW_YORK, "00:00-01:30", utc(2026, 11, 1, 5, 30), False),
    ("NY repeat: does not reopen", NEW_YORK, "00:00-01:30", utc(2026, 11, 1, 6, 15), False),
    ("Lisbon gap: open from the jump", LISBON, "01:30-09:00", utc(2026, 3, 29, 1), True),
    ("Lisbon gap: not before it", LISBON, "01:30-09:00", utc(2026, 3, 29, 0, 59), False),
    ("Lisbon repeat: first 01:30", LISBON, "01:30-09:00", utc(2026, 10, 25, 0, 30), True),
]


@pytest.mark.parametrize(
    ("zone", "hours", "moment", "expected"),
    [case[1:] for case in DST_BOUNDARY_CASES],
    ids=[case[0] for case in DST_BOUNDARY_CASES],
)
def test_dst_boundaries_follow_the_first_reach_rule(
    zone: ZoneInfo, hours: str, moment: datetime, expected: bool
) -> None:
    assert is_open(calendar(zone, {"sun": hours}), moment) is expected


def test_adding_across_a_dst_change_counts_real_hours() -> None:
    local_always = calendar(NEW_YORK, {"mon-sun": "00:00-24:00"})
    saturday_noon = ny(2026, 3, 7, 12)
    assert add_business_time(local_always, saturday_noon, h(24)) == ny(2026, 3, 8, 13)
    assert add_business_time(local_always, ny(2026, 10, 31, 12), h(24)) == ny(2026, 11, 1, 11)


def test_sao_paulo_has_had_no_dst_since_2019() -> None:
    offsets = {
        datetime.combine(
            date(2026, 1, 1) + timedelta(days=n), time(12), tzinfo=SAO_PAULO
        ).utcoffset()
        for n in range(365)
    }
    assert offsets == {h(-3)}
    # The zone does know the DST Brazil used to have: 2018/19 summer was at -02:00.
    assert datetime(2018, 12, 1, 12, tzinfo=SAO_PAULO).utcoffset() == h(-2)
    local_always = calendar(SAO_PAULO, {"mon-sun": "00:00-24:00"})
    assert business_time_between(local_always, sp(2026, 1, 1), sp(2027, 1, 1)) == h(365 * 24)


def test_always_open_needs_no_configuration() -> None:
    assert ALWAYS_OPEN.name == "24/7"
    assert Calendar.always_open("round the clock").hours == ALWAYS_OPEN.hours
    assert all(is_open(ALWAYS_OPEN, utc(2026, 3, 8) + h(n / 4)) for n in range(7 * 24 * 4))


PARSE_CASES = [
    (
        {"mon-fri": "09:00-18:00"},
        {d: ((time(9), time(18)),) for d in range(5)} | {5: (), 6: ()},
    ),
    (
        {"mon-fri": "09:00-12:00,13:00-18:00", "sat": "09:00-13:00"},
        {d: ((time(9), time(12)), (time(13), time(18))) for d in range(5)}
        | {5: ((time(9), time(13)),), 6: ()},
    ),
    (
        {"sun-thu": "08:00-16:00"},  # wraps round the end of the week
        {d: ((time(8), time(16)),) for d in (6, 0, 1, 2, 3)} | {4: (), 5: ()},
    ),
    (
        {"mon,wed-thu": "9:00-17:30", "sun": "closed"},
        {d: ((time(9), time(17, 30)),) for d in (0, 2, 3)} | {1: (), 4: (), 5: (), 6: ()},
    ),
    (
        {" Mon - Tue ": " 13:00-18:00 , 09:00-12:00 "},
        {d: ((time(9), time(12)), (time(13), time(18))) for d in (0, 1)}
        | dict.fromkeys(range(2, 7), ()),
    ),
    (
        {"fri": "22:00-24:00", "sat": "00:00-06:00"},
        {4: ((time(22), END_OF_DAY),), 5: ((time(0), time(6)),)}
        | dict.fromkeys((0, 1, 2, 3, 6), ()),
    ),
]


@pytest.mark.parametrize(("spec", "expected"), PARSE_CASES)
def test_parse_hours(
    spec: dict[str, str], expected: dict[int, tuple[tuple[time, time], ...]]
) -> None:
    assert parse_hours(spec) == expected


PARSE_ERRORS = [
    ({"mon-fri": "22:00-06:00"}, 'spans midnight; write it as "22:00-24:00" on one day'),
    ({"mon-fri": "9-18"}, "'9' is not a time \"HH:MM\""),
    ({"mon-fri": "09:00"}, "'09:00' is not \"HH:MM-HH:MM\""),
    ({"mon-fri": "25:00-26:00"}, "'25:00' is not a time of day"),
    ({"mon-fri": "09:00-09:00"}, "is empty"),
    (
        {"mon-fri": "09:00-13:00,12:00-18:00"},
        "hours 'mon-fri': on mon, 12:00-18:00 overlaps 09:00-13:00",
    ),
    (
        {"mon-fri": "09:00-18:00", "fri": "09:00-13:00"},
        "hours 'mon-fri': on fri, 09:00-18:00 overlaps 09:00-13:00 from 'fri' (days named by",
    ),
    (
        {"mon-fri": "09:00-18:00", "fri": "closed"},
        "hours 'fri': fri is closed here but opened by 'mon-fri'",
    ),
    ({"mon-fri": "24:00-10:00"}, '"24:00" can only close an interval'),
    ({"mon-funday": "09:00-18:00"}, "'funday' is not a day"),
    ({"mon,mon": "09:00-18:00"}, "names mon twice"),
    ({"mon-fri": ["09:00-18:00"]}, 'must be a string such as "09:00-18:00"'),
    ({}, "open on no day"),
    ({"mon-sun": "closed"}, "open on no day"),
]


@pytest.mark.parametrize(("spec", "message"), PARSE_ERRORS)
def test_parse_hours_rejects_bad_specs(spec: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_hours(spec)  # type: ignore[arg-type]
    assert message in str(caught.value)


BAD_CALENDARS = [
    ({7: ((time(9), time(17)),)}, None, "weekday 7 is not 0 (Monday) .. 6"),
    ({0: ((time(13), time(18)), (time(9), time(12)))}, None, "in order and not overlap"),
    ({0: ((time(18), time(9)),)}, None, "18:00-09:00 does not open first"),
    ({0: ((time(9, tzinfo=UTC), time(17)),)}, None, "without a tzinfo"),
    ({0: ((time(9), time(17)),)}, "XX", "country 'XX' is unknown to the holidays library"),
    ({0: ((time(9), time(17)),)}, "BR-ZZ", "country 'BR-ZZ' is unknown"),
]


@pytest.mark.parametrize(("hours", "country", "message"), BAD_CALENDARS)
def test_calendar_rejects_bad_configuration(
    hours: dict[int, tuple[tuple[time, time], ...]], country: str | None, message: str
) -> None:
    with pytest.raises(ValueError) as caught:
        Calendar("support", NEW_YORK, hours, country=country)
    assert message in str(caught.value)
    assert "'support'" in str(caught.value)


def test_calendar_hours_cannot_be_changed_afterwards() -> None:
    hours = parse_hours({"mon-fri": "09:00-17:00"})
    office = Calendar("office", NEW_YORK, hours)
    hours[5] = ((time(9), time(17)),)
    assert office.hours[5] == ()
    with pytest.raises(TypeError):
        office.hours[5] = ()  # type: ignore[index]
    assert hash(office) == hash(
        Calendar("office", NEW_YORK, parse_hours({"mon-fri": "9:00-17:00"}))
    )


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2026, 5, 11, 10)
    with pytest.raises(ValueError, match="start must be timezone-aware"):
        add_business_time(OFFICE_NY, naive, h(1))
    with pytest.raises(ValueError, match="end must be timezone-aware"):
        business_time_between(OFFICE_NY, ny(2026, 5, 11), naive)
    with pytest.raises(ValueError, match="moment must be timezone-aware"):
        is_open(OFFICE_NY, naive)


def test_negative_durations_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        add_business_time(OFFICE_NY, ny(2026, 5, 11), h(-1))


def test_a_calendar_that_never_opens_raises_instead_of_looping() -> None:
    closed = Calendar("closed", NEW_YORK, {})
    assert not closed.ever_open
    with pytest.raises(ValueError, match="'closed' has no opening hours on any day"):
        add_business_time(closed, ny(2026, 5, 11), h(1))
    assert add_business_time(closed, ny(2026, 5, 11), h(0)) == ny(2026, 5, 11)
    assert business_time_between(closed, ny(2026, 5, 11), ny(2026, 6, 11)) == h(0)


def test_a_calendar_whose_every_open_day_is_a_holiday_raises() -> None:
    mondays = frozenset(date(2026, 1, 5) + timedelta(weeks=n) for n in range(200))
    mondays_only = Calendar("mondays", NEW_YORK, {0: ((time(9), time(17)),)}, holidays=mondays)
    assert mondays_only.ever_open
    with pytest.raises(ValueError, match="'mondays' does not open in the 370 days"):
        add_business_time(mondays_only, ny(2026, 1, 1), h(1))


# Properties over realistic calendars, including ones whose hours touch the DST changes.
PROPERTY_CALENDARS = [
    OFFICE_NY,
    OFFICE_SP,
    SHOP_LISBON,
    NIGHT_SHIFT_NY,
    calendar(NEW_YORK, {"sun": "01:30-09:00", "wed": "02:30-03:00"}),
    calendar(LISBON, {"sat-sun": "00:30-02:30,12:00-13:00"}),
    ALWAYS_OPEN,
]
EPOCH = utc(2025, 10, 1)
starts = st.integers(0, 2 * 365 * 86400).map(lambda s: EPOCH + timedelta(seconds=s))
durations = st.integers(0, 20 * 86400).map(lambda s: timedelta(seconds=s))
PROPERTY_SETTINGS = settings(max_examples=300, deadline=None)


@PROPERTY_SETTINGS
@given(st.sampled_from(PROPERTY_CALENDARS), starts, durations, durations)
def test_adding_then_measuring_gives_the_duration_back(
    calendar: Calendar, start: datetime, first: timedelta, second: timedelta
) -> None:
    shorter, longer = sorted((first, second))
    early = add_business_time(calendar, start, shorter)
    late = add_business_time(calendar, start, longer)
    assert business_time_between(calendar, start, early) == shorter
    assert business_time_between(calendar, start, late) == longer
    assert start <= early <= late
    if shorter > timedelta(0):
        # The earliest instant: the business time just before it was open.
        assert is_open(calendar, early - timedelta(microseconds=1))


@PROPERTY_SETTINGS
@given(st.sampled_from(PROPERTY_CALENDARS), starts, starts, starts)
def test_business_time_adds_up_over_consecutive_ranges(
    calendar: Calendar, a: datetime, b: datetime, c: datetime
) -> None:
    ab = business_time_between(calendar, a, b)
    assert ab == -business_time_between(calendar, b, a)
    assert ab + business_time_between(calendar, b, c) == business_time_between(calendar, a, c)
    assert abs(ab) <= abs(b - a)
