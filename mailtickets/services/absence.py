"""Agents' absence: away (until a date, until `#back`, or, after their own out-of-office
reply that named no date, until they next act) and back.

An away agent gets no new tickets (`services.assignment`); mail about the tickets they hold
also goes to their queue's managers (`outbox.notices.recipients`). A date they named is the
day they are back, from midnight UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailtickets.db.models import Agent
from mailtickets.errors import NotFound

#: How an agent went away; only an out-of-office reply is ended by their next act.
BY_MAIL, BY_CLI, BY_AUTO_REPLY = "mail", "cli", "auto_reply"


@dataclass(frozen=True)
class State:
    """An agent's availability, as `agents list` and the mail that confirms it show it."""

    away: bool
    until: datetime | None
    how: str | None

    def describe(self) -> str:
        if not self.away:
            return "available"
        if self.until is not None:
            return f"away until {self.until:%Y-%m-%d}"
        return "away until they act" if self.how == BY_AUTO_REPLY else "away"


def back_on(day: date) -> datetime:
    """The moment an agent who names `day` is back."""
    return datetime.combine(day, time(0, 0), tzinfo=UTC)


def state(agent: Agent, now: datetime) -> State:
    away = agent.away_at(now)
    return State(away, agent.away_until if away else None, agent.away_how if away else None)


def why_not(day: date | None, now: datetime) -> str | None:
    """Why an agent cannot be away until `day`, or None when they can."""
    if day is not None and back_on(day) <= now:
        return f"{day:%Y-%m-%d} is not in the future"
    return None


def set_away(agent: Agent, now: datetime, until: date | None, how: str) -> None:
    """Mark `agent` away from `now` until `until` (None: until they say they are back)."""
    if why := why_not(until, now):
        raise ValueError(why)
    agent.away_since, agent.away_how = now, how
    agent.away_until = back_on(until) if until is not None else None


def set_back(agent: Agent) -> bool:
    """Mark `agent` available; False when they were not away."""
    was = agent.away_since is not None
    agent.away_since = agent.away_until = agent.away_how = None
    return was


def acted(agent: Agent) -> None:
    """`agent` answered or gave a command: an out-of-office reply no longer speaks for them."""
    if agent.away_how == BY_AUTO_REPLY:
        set_back(agent)


def find_agent(session: Session, address: str) -> Agent:
    """The active agent with `address`; `NotFound` names it when there is none."""
    agent = session.scalar(select(Agent).where(Agent.address == address.strip().lower()))
    if agent is None or not agent.active:
        raise NotFound(f"no agent {address}")
    return agent
