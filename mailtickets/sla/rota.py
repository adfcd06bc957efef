"""On-call rotas: which agent is on call at a moment, and who comes after them.

A `Rota` hands the duty round its agents in order, one turn per `period` (a day or a week),
the first turn starting at `starts` in the rota's own time zone; turns change at the same wall
time, so a weekly handover at "Monday 09:00" stays at 09:00 across daylight-saving changes.
Explicit `Shift`s (holidays covered by someone, swaps) take precedence over the rotation for
the time they cover; where two overlap, the one listed first wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Shift:
    """`agent` is on call from `starts` until `ends` (local wall times of the rota's zone)."""

    agent: str
    starts: datetime
    ends: datetime


@dataclass(frozen=True)
class Rota:
    name: str
    zone: ZoneInfo
    #: The agents' addresses, in the order they take turns.
    agents: tuple[str, ...]
    #: When `agents[0]`'s first turn begins, naive local wall time.
    starts: datetime
    #: How long a turn lasts: whole days (1 for daily, 7 for weekly).
    period_days: int
    #: How long the agent on call has to act on a ticket before the next one is told.
    ack_within: timedelta
    shifts: tuple[Shift, ...] = ()

    def __post_init__(self) -> None:
        if not self.agents and not self.shifts:
            raise ValueError(f"rota {self.name!r} has no agents")
        if self.period_days < 1:
            raise ValueError(f"rota {self.name!r}: a turn lasts at least a day")


def on_call(rota: Rota, moment: datetime) -> str | None:
    """The agent on call at `moment` (timezone-aware); None before the rota starts."""
    local = moment.astimezone(rota.zone).replace(tzinfo=None)
    for shift in rota.shifts:
        if shift.starts <= local < shift.ends:
            return shift.agent
    if not rota.agents or local < rota.starts:
        return None
    return rota.agents[_turn(rota, local) % len(rota.agents)]


def after(rota: Rota, agent: str) -> str | None:
    """The agent whose turn follows `agent`'s; None when nobody else is in the rotation."""
    others = [a for a in rota.agents if a != agent]
    if not others:
        return None
    if agent not in rota.agents:
        return rota.agents[0]
    return rota.agents[(rota.agents.index(agent) + 1) % len(rota.agents)]


def _turn(rota: Rota, local: datetime) -> int:
    """How many whole turns have begun since `starts`, counted in local wall time."""
    days = (local.date() - rota.starts.date()).days
    if local.time() < rota.starts.time():
        days -= 1  # today's handover has not happened yet
    return days // rota.period_days
