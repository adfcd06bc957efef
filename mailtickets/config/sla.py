"""Read `[[sla]]` and `[[calendar]]` tables: response-time budgets and the hours they count in.

A calendar's own mistakes (hours that overlap, an unknown country) are reported on its key;
whether an SLA names a calendar that exists is checked across sections (`config.crosscheck`).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mailtickets.config import reader as r
from mailtickets.config.settings import PRIORITIES, CalendarSettings, SlaSettings, SlaTimes
from mailtickets.sla.calendar import ALWAYS_OPEN, Calendar
from mailtickets.sla.hours import parse_hours

_UNTRACKED = SlaTimes(None, None, None)


def _sla_times(t: r.Table, base: SlaTimes = _UNTRACKED) -> SlaTimes:
    """Budgets read from `t`; a key it does not set keeps `base`'s value."""

    def budget(key: str, inherited: timedelta | None) -> timedelta | None:
        value = t.optional(key, r.duration)
        return inherited if value is None else value

    return SlaTimes(
        first_response=budget("first_response", base.first_response),
        next_response=budget("next_response", base.next_response),
        resolution=budget("resolution", base.resolution),
    )


def read_sla(t: r.Table) -> SlaSettings:
    """One `[[sla]]` policy with its `[sla.priority.<p>]` overrides."""
    times = _sla_times(t)
    priorities = {}
    overrides = t.table("priority")
    for priority in PRIORITIES:
        if overrides.has(priority):
            table = overrides.table(priority)
            priorities[priority] = _sla_times(table, times)
            table.finish()
    overrides.finish()
    settings = SlaSettings(
        name=t.get("name", r.nonempty, "", required=True),
        calendar=t.get("calendar", r.nonempty, "24/7"),
        times=times,
        warn_at=t.get("warn_at", r.fraction, 0.8),
        priorities=priorities,
    )
    t.finish()
    return settings


def read_calendar(t: r.Table) -> CalendarSettings:
    """One `[[calendar]]`; an invalid one is named and replaced by the always-open one."""
    name = t.get("name", r.nonempty, "", required=True)
    zone = t.get("timezone", _zone, ZoneInfo("UTC"), required=True)
    no_hours: dict[int, tuple[tuple[time, time], ...]] = {}
    hours = t.get("hours", _hours, no_hours, required=True)
    no_holidays: tuple[date, ...] = ()
    holidays = t.get("holidays", r.list_of(_date), no_holidays)
    country = t.optional("country", r.nonempty)
    t.finish()
    try:
        calendar = Calendar(name, zone, hours, frozenset(holidays), country)
    except ValueError as exc:
        t.problems.add(t.label, "hours" if "country" not in str(exc) else "country", str(exc))
        calendar = ALWAYS_OPEN
    return CalendarSettings(name, calendar)


def _zone(value: object) -> ZoneInfo:
    try:
        return ZoneInfo(r.nonempty(value))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError('must be a time zone such as "America/Sao_Paulo"') from exc


def _hours(value: object) -> dict[int, tuple[tuple[time, time], ...]]:
    if not isinstance(value, dict):
        raise ValueError('must be a table such as { "mon-fri" = "09:00-18:00" }')
    return parse_hours({str(k): v for k, v in value.items()})


def _date(value: object) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(r.string(value))
    except ValueError as exc:
        raise ValueError('must be dates such as "2026-12-25"') from exc
