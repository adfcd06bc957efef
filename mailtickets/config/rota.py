"""Read `[[rota]]` tables: who is on call, in which time zone, and how fast they must act.

A rota takes its time zone from the `[[calendar]]` it names, so its handovers and shifts are
written in the same wall time as the team's opening hours; whether the calendar and the agents
exist is checked across sections (`config.crosscheck`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from mailtickets.config import reader as r
from mailtickets.config.settings import CalendarSettings, RotaSettings
from mailtickets.sla.rota import Rota, Shift

#: `rotation` -> how many days a turn lasts.
ROTATIONS = {"daily": 1, "weekly": 7}
_EPOCH = datetime(2026, 1, 5, 9, 0)  # a Monday, 09:00: a weekly handover most teams use


def read_rota(t: r.Table, calendars: tuple[CalendarSettings, ...]) -> RotaSettings | None:
    """One `[[rota]]` with its `[[rota.shift]]`s; None (after naming the problem) if unusable."""
    name = t.get("name", r.nonempty, "", required=True)
    calendar = t.get("calendar", r.nonempty, "", required=True)
    nobody: tuple[str, ...] = ()
    agents = t.get("agents", r.list_of(r.address), nobody)
    rotation = t.get("rotation", r.choice(*ROTATIONS), "weekly")
    starts = t.get("starts", _local_time, _EPOCH)
    ack_within = t.get("ack_within", r.positive_duration, r.duration("30m"))
    shifts = tuple(_shift(s) for s in t.tables("shift"))
    t.finish()
    zones: Mapping[str, ZoneInfo] = {c.name: c.calendar.zone for c in calendars}
    if calendar and calendar not in zones:
        t.problems.add(t.label, "calendar", f"names no [[calendar]]: {calendar!r}")
        return None
    if not name or not calendar:
        return None
    try:
        rota = Rota(
            name,
            zones[calendar],
            tuple(a.lower() for a in agents),
            starts,
            ROTATIONS[rotation],
            ack_within,
            tuple(s for s in shifts if s is not None),
        )
    except ValueError as exc:
        t.problems.add(t.label, "agents", str(exc))
        return None
    return RotaSettings(rota=rota, calendar=calendar)


def _shift(t: r.Table) -> Shift | None:
    agent = t.get("agent", r.address, "", required=True)
    starts = t.get("starts", _local_time, _EPOCH, required=True)
    ends = t.get("ends", _local_time, _EPOCH, required=True)
    t.finish()
    if ends <= starts:
        t.problems.add(t.label, "ends", "must be later than starts")
        return None
    return Shift(agent.lower(), starts, ends) if agent else None


def _local_time(value: object) -> datetime:
    """A wall time in the rota's zone: "2026-12-24 18:00" (a TOML local date-time too)."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value
    try:
        moment = datetime.fromisoformat(r.nonempty(value))
    except ValueError as exc:
        raise ValueError('must be a local date and time such as "2026-12-24 18:00"') from exc
    if moment.tzinfo is not None:
        raise ValueError("is a wall time in the rota's calendar's zone: leave the offset out")
    return moment
