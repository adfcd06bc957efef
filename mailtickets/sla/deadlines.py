"""SLA due times of a ticket, computed from its history; nothing here reads a clock.

A `Policy` gives up to three budgets of business time, all counted on its calendar:

- first response: runs from `created_at`; due at `created_at` plus the budget. It stops for
  good once `first_response_at` is set (then its due time is None).
- next response: runs while the ticket waits on us after the first response, that is while
  the last customer message is later than both the last agent reply and the first response.
  It restarts at every customer message: due at `last_customer_message_at` plus the budget,
  and None as soon as an agent answers.
- resolution: runs from `created_at`; due at `created_at` plus the budget; None once resolved.

A ticket with `resolved_at` set runs no clock at all: every due time is None. A reopened
ticket is passed with `resolved_at=None`; the time it spent resolved counts against its
resolution budget unless the caller also passes that time as a pending period.

Pending (waiting on the customer) stops every clock. The business time that elapses inside a
pending period after a clock started and before it ran out pushes its due time out by as
much; pending time before the clock started or after its due time changes nothing, so a
breach stays a breach. Overlapping periods count once. A period without an end means the
ticket is pending now: `Due.paused` is True, and the due times are those the ticket would
have if the customer replied at `now` — they move with `now` and stay ahead of it, unless the
clock had already run out before the pause.

Warnings come at `warn_at` of each budget, counted the same way (business time, pauses
included): the warning moment is when that fraction of the budget has been used.

Priority needs nothing special: an urgent queue is just another `Policy`. Every datetime is
timezone-aware and comes back in UTC; a naive one raises ValueError.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from mailtickets.sla.calendar import Calendar, add_business_time, business_time_between

_ZERO = timedelta(0)
_UNITS = (("d", 86400), ("h", 3600), ("m", 60))


@dataclass(frozen=True)
class Policy:
    """Response-time budgets in business time; None for a budget that is not tracked."""

    name: str
    calendar: Calendar
    first_response: timedelta | None
    next_response: timedelta | None
    resolution: timedelta | None
    warn_at: float  # fraction of each budget after which a warning is due

    def __post_init__(self) -> None:
        for kind, budget in self.budgets():
            if budget is not None and budget < _ZERO:
                raise ValueError(f"policy {self.name!r}: {kind} must not be negative")
        if not 0 < self.warn_at < 1:
            raise ValueError(f"policy {self.name!r}: warn_at must be between 0 and 1")

    def budgets(self) -> tuple[tuple[str, timedelta | None], ...]:
        """(kind, budget) for first_response, next_response and resolution, in that order."""
        return (
            ("first_response", self.first_response),
            ("next_response", self.next_response),
            ("resolution", self.resolution),
        )


@dataclass(frozen=True)
class Span:
    """A period, such as one the ticket spent pending; `end` None while it still lasts."""

    start: datetime
    end: datetime | None

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _utc(self.start, "span start"))
        if self.end is not None:
            object.__setattr__(self, "end", _utc(self.end, "span end"))
            if self.end < self.start:
                raise ValueError(f"span ends at {self.end} before it starts at {self.start}")


@dataclass(frozen=True)
class Clocks:
    """Where each SLA clock of a ticket starts counting; None for a clock that is not running."""

    first_response: datetime | None
    next_response: datetime | None
    resolution: datetime | None


@dataclass(frozen=True)
class Due:
    """When each running clock runs out, and when to warn that it soon will."""

    first_response: datetime | None  # None when not tracked or already met
    next_response: datetime | None
    resolution: datetime | None
    first_response_warning: datetime | None
    next_response_warning: datetime | None
    resolution_warning: datetime | None
    paused: bool = False  # pending at `now`: the clocks are stopped and the times projected

    def running(self) -> tuple[tuple[str, datetime, datetime], ...]:
        """(kind, due, warning) for each running clock, kinds named as in `Policy`."""
        pairs = (
            ("first_response", self.first_response, self.first_response_warning),
            ("next_response", self.next_response, self.next_response_warning),
            ("resolution", self.resolution, self.resolution_warning),
        )
        return tuple(
            (kind, due, warning)
            for kind, due, warning in pairs
            if due is not None and warning is not None
        )


def running_clocks(
    policy: Policy,
    created_at: datetime,
    first_response_at: datetime | None,
    last_customer_message_at: datetime | None,
    last_agent_reply_at: datetime | None,
    resolved_at: datetime | None,
) -> Clocks:
    """Which of the policy's clocks run for this history, and since when."""
    if resolved_at is not None:
        return Clocks(None, None, None)
    created = _utc(created_at, "created_at")
    answered = [
        _utc(moment, what)
        for moment, what in (
            (first_response_at, "first_response_at"),
            (last_agent_reply_at, "last_agent_reply_at"),
        )
        if moment is not None
    ]
    waiting_since = None
    if answered and last_customer_message_at is not None:
        customer = _utc(last_customer_message_at, "last_customer_message_at")
        waiting_since = customer if customer > max(answered) else None
    return Clocks(
        first_response=created if policy.first_response is not None and not answered else None,
        next_response=waiting_since if policy.next_response is not None else None,
        resolution=created if policy.resolution is not None else None,
    )


def compute_due(
    policy: Policy,
    created_at: datetime,
    first_response_at: datetime | None,
    last_customer_message_at: datetime | None,
    last_agent_reply_at: datetime | None,
    pending_periods: Sequence[Span],
    resolved_at: datetime | None,
    now: datetime,
) -> Due:
    """Due and warning times of every running clock, as of `now` (see the module docstring)."""
    clocks = running_clocks(
        policy,
        created_at,
        first_response_at,
        last_customer_message_at,
        last_agent_reply_at,
        resolved_at,
    )
    current = _utc(now, "now")
    pauses = _merged(pending_periods)
    paused = bool(pauses) and pauses[-1].end is None

    def deadline(
        start: datetime | None, budget: timedelta | None
    ) -> tuple[datetime | None, datetime | None]:
        if start is None or budget is None:
            return None, None
        due = _run_out(policy.calendar, start, budget, pauses, current)
        warning = _run_out(policy.calendar, start, budget * policy.warn_at, pauses, current)
        return due, warning

    first, first_warning = deadline(clocks.first_response, policy.first_response)
    following, following_warning = deadline(clocks.next_response, policy.next_response)
    resolution, resolution_warning = deadline(clocks.resolution, policy.resolution)
    return Due(
        first_response=first,
        next_response=following,
        resolution=resolution,
        first_response_warning=first_warning,
        next_response_warning=following_warning,
        resolution_warning=resolution_warning,
        paused=paused,
    )


def remaining(calendar: Calendar, now: datetime, due: datetime) -> timedelta:
    """Business time left until `due`; negative, in business time, once it has passed.

    Right after a due time that fell at closing, nothing is left but nothing is overdue
    either: this is zero while the calendar stays closed. Tell a breach by ``now >= due``.
    """
    return business_time_between(calendar, now, due)


def humanize(delta: timedelta) -> str:
    """`delta` in its two largest units, for templates: "1h 20m", "2d 3h", "-15m".

    A day is 24 hours, not a business day. Seconds are dropped (towards zero), so anything
    under a minute, either way, is "0m".
    """
    seconds = abs(delta) // timedelta(seconds=1)
    counts: list[tuple[int, str]] = []
    for unit, size in _UNITS:
        count, seconds = divmod(seconds, size)
        counts.append((count, unit))
    largest = next((index for index, (count, _) in enumerate(counts) if count), None)
    if largest is None:
        return "0m"
    shown = " ".join(f"{count}{unit}" for count, unit in counts[largest : largest + 2] if count)
    return f"-{shown}" if delta < _ZERO else shown


def _run_out(
    calendar: Calendar,
    start: datetime,
    budget: timedelta,
    pauses: Sequence[Span],
    now: datetime,
) -> datetime:
    """When `budget` of business time outside `pauses` has run from `start`."""
    cursor, left = start, budget
    if left == _ZERO:
        return start  # even when a pause begins at that very instant
    for pause in pauses:
        if pause.end is not None and pause.end <= cursor:
            continue
        if pause.start > cursor:
            due = add_business_time(calendar, cursor, left)
            if due <= pause.start:
                return due
            left -= business_time_between(calendar, cursor, pause.start)
        if pause.end is None:
            # Still pending: the clock resumes when the customer replies, at best right now.
            return add_business_time(calendar, max(cursor, pause.start, now), left)
        cursor = max(cursor, pause.end)
    return add_business_time(calendar, cursor, left)


def _merged(periods: Sequence[Span]) -> list[Span]:
    """The periods in order, overlapping or touching ones joined; an open one ends the list."""
    merged: list[Span] = []
    for period in sorted(periods, key=lambda span: span.start):
        last = merged[-1] if merged else None
        if last is not None and (last.end is None or period.start <= last.end):
            if last.end is not None:
                end = None if period.end is None else max(last.end, period.end)
                merged[-1] = Span(last.start, end)
            continue
        merged.append(period)
    return merged


def _utc(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {moment.isoformat()}")
    return moment.astimezone(UTC)
