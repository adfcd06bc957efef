"""Due times from a ticket's history: clocks, pauses while pending, warnings, remaining time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailtickets.sla.calendar import (
    ALWAYS_OPEN,
    Calendar,
    add_business_time,
    business_time_between,
)
from mailtickets.sla.deadlines import (
    Clocks,
    Due,
    Policy,
    Span,
    compute_due,
    humanize,
    remaining,
    running_clocks,
)
from mailtickets.sla.hours import parse_hours

NEW_YORK = ZoneInfo("America/New_York")
OFFICE = Calendar("office", NEW_YORK, parse_hours({"mon-fri": "09:00-17:00"}))
STANDARD = Policy(
    "standard",
    OFFICE,
    first_response=timedelta(hours=4),
    next_response=timedelta(hours=8),
    resolution=timedelta(hours=16),
    warn_at=0.75,
)
URGENT = Policy(
    "urgent",
    OFFICE,
    first_response=timedelta(hours=1),
    next_response=timedelta(hours=2),
    resolution=timedelta(hours=8),
    warn_at=0.5,
)
URGENT_ROUND_THE_CLOCK = Policy(
    "urgent 24/7", ALWAYS_OPEN, timedelta(hours=1), None, None, warn_at=0.5
)
UNTRACKED = Policy("none", OFFICE, None, None, None, warn_at=0.8)


def may(day: int, hour: int, minute: int = 0) -> datetime:
    """New York wall time in May 2026 (Monday the 11th .. Monday the 18th), as UTC."""
    return datetime(2026, 5, day, hour, minute, tzinfo=NEW_YORK).astimezone(UTC)


def pending(start: datetime, end: datetime | None) -> Span:
    return Span(start, end)


@dataclass(frozen=True)
class History:
    created_at: datetime = field(default_factory=lambda: may(11, 10))
    first_response_at: datetime | None = None
    last_customer_message_at: datetime | None = None
    last_agent_reply_at: datetime | None = None
    pending_periods: tuple[Span, ...] = ()
    resolved_at: datetime | None = None
    now: datetime = field(default_factory=lambda: may(11, 11))

    def due(self, policy: Policy) -> Due:
        return compute_due(
            policy,
            self.created_at,
            self.first_response_at,
            self.last_customer_message_at,
            self.last_agent_reply_at,
            self.pending_periods,
            self.resolved_at,
            self.now,
        )


def due(
    first: tuple[datetime, datetime] | None = None,
    following: tuple[datetime, datetime] | None = None,
    resolution: tuple[datetime, datetime] | None = None,
    *,
    paused: bool = False,
) -> Due:
    """A `Due` from (due, warning) pairs."""
    return Due(
        first_response=first[0] if first else None,
        next_response=following[0] if following else None,
        resolution=resolution[0] if resolution else None,
        first_response_warning=first[1] if first else None,
        next_response_warning=following[1] if following else None,
        resolution_warning=resolution[1] if resolution else None,
        paused=paused,
    )


# The standard resolution clock of a ticket created Monday 10:00 with no pauses.
RESOLUTION_MON_10 = (may(13, 10), may(12, 14))

CASES = [
    # (label, policy, history, expected)
    (
        "new ticket",
        STANDARD,
        History(),
        due(first=(may(11, 14), may(11, 13)), resolution=RESOLUTION_MON_10),
    ),
    (
        "created late on friday",
        STANDARD,
        History(created_at=may(15, 15), now=may(15, 16)),
        due(first=(may(18, 11), may(18, 10)), resolution=(may(19, 15), may(19, 11))),
    ),
    (
        "first response met",
        STANDARD,
        History(first_response_at=may(11, 12), last_agent_reply_at=may(11, 12)),
        due(resolution=RESOLUTION_MON_10),
    ),
    (
        "customer replies: next response runs",
        STANDARD,
        History(
            first_response_at=may(11, 12),
            last_agent_reply_at=may(11, 12),
            last_customer_message_at=may(11, 13),
            now=may(11, 14),
        ),
        due(following=(may(12, 13), may(12, 11)), resolution=RESOLUTION_MON_10),
    ),
    (
        "customer writes again: next response restarts",
        STANDARD,
        History(
            first_response_at=may(11, 12),
            last_agent_reply_at=may(11, 12),
            last_customer_message_at=may(12, 10),
            now=may(12, 10, 30),
        ),
        due(following=(may(13, 10), may(12, 16)), resolution=RESOLUTION_MON_10),
    ),
    (
        "agent answers: next response met",
        STANDARD,
        History(
            first_response_at=may(11, 12),
            last_agent_reply_at=may(12, 11),
            last_customer_message_at=may(12, 10),
            now=may(12, 12),
        ),
        due(resolution=RESOLUTION_MON_10),
    ),
    (
        "the first response counts as an agent reply",
        STANDARD,
        History(first_response_at=may(11, 12), last_customer_message_at=may(11, 13)),
        due(following=(may(12, 13), may(12, 11)), resolution=RESOLUTION_MON_10),
    ),
    (
        "the customer's opening message starts no next-response clock",
        STANDARD,
        History(first_response_at=may(11, 12), last_customer_message_at=may(11, 10)),
        due(resolution=RESOLUTION_MON_10),
    ),
    (
        "pending, then the customer replied",
        STANDARD,
        History(pending_periods=(pending(may(11, 11), may(11, 13)),), now=may(11, 14)),
        due(first=(may(11, 16), may(11, 15)), resolution=(may(13, 12), may(12, 16))),
    ),
    (
        "pending overnight counts only its business hours",
        STANDARD,
        History(
            created_at=may(11, 15),
            pending_periods=(pending(may(11, 16), may(12, 10)),),
            now=may(12, 11),
        ),
        due(first=(may(12, 13), may(12, 12)), resolution=(may(13, 17), may(13, 13))),
    ),
    (
        "pending over the weekend moves nothing",
        STANDARD,
        History(
            created_at=may(15, 15),
            pending_periods=(pending(may(15, 17, 30), may(18, 8)),),
            now=may(18, 9),
        ),
        due(first=(may(18, 11), may(18, 10)), resolution=(may(19, 15), may(19, 11))),
    ),
    (
        "pending after the due time: a breach stays a breach",
        STANDARD,
        History(pending_periods=(pending(may(11, 15), may(12, 12)),), now=may(12, 13)),
        due(first=(may(11, 14), may(11, 13)), resolution=(may(13, 15), may(13, 11))),
    ),
    (
        "pending now: clocks stopped, due projected from now",
        STANDARD,
        History(pending_periods=(pending(may(11, 11), None),), now=may(11, 15)),
        due(first=(may(12, 10), may(11, 17)), resolution=(may(13, 14), may(13, 10)), paused=True),
    ),
    (
        "pending now, warning already passed before the pause",
        STANDARD,
        History(pending_periods=(pending(may(11, 13, 30), None),), now=may(11, 16)),
        due(
            first=(may(11, 16, 30), may(11, 13)),
            resolution=(may(13, 12, 30), may(12, 16, 30)),
            paused=True,
        ),
    ),
    (
        "pending now, breached before the pause",
        STANDARD,
        History(pending_periods=(pending(may(11, 15), None),), now=may(12, 12)),
        due(first=(may(11, 14), may(11, 13)), resolution=(may(13, 15), may(13, 11)), paused=True),
    ),
    (
        "overlapping pending periods count once",
        STANDARD,
        History(
            pending_periods=(
                pending(may(11, 11, 30), may(11, 13)),
                pending(may(11, 11), may(11, 12)),
            ),
            now=may(11, 14),
        ),
        due(first=(may(11, 16), may(11, 15)), resolution=(may(13, 12), may(12, 16))),
    ),
    (
        "paused and resumed twice",
        STANDARD,
        History(
            pending_periods=(
                pending(may(11, 10, 30), may(11, 11)),
                pending(may(11, 12), may(11, 13)),
            ),
            now=may(11, 14),
        ),
        due(
            first=(may(11, 15, 30), may(11, 14, 30)),
            resolution=(may(13, 11, 30), may(12, 15, 30)),
        ),
    ),
    (
        "next response paused after the customer's message",
        Policy("next only", OFFICE, None, timedelta(hours=8), None, 0.75),
        History(
            first_response_at=may(11, 12),
            last_customer_message_at=may(11, 13),
            pending_periods=(
                pending(may(11, 9), may(11, 12, 30)),
                pending(may(11, 14), may(11, 16)),
            ),
            now=may(11, 17),
        ),
        due(following=(may(12, 15), may(12, 13))),
    ),
    (
        "resolved: no clock runs",
        STANDARD,
        History(
            last_customer_message_at=may(11, 13),
            pending_periods=(pending(may(11, 11), None),),
            resolved_at=may(11, 14),
            now=may(11, 15),
        ),
        due(paused=True),
    ),
    ("nothing tracked", UNTRACKED, History(), due()),
    (
        "urgent: just another policy",
        URGENT,
        History(),
        due(first=(may(11, 11), may(11, 10, 30)), resolution=(may(12, 10), may(11, 14))),
    ),
    (
        "urgent round the clock, on a saturday",
        URGENT_ROUND_THE_CLOCK,
        History(created_at=may(16, 10), now=may(16, 10)),
        due(first=(may(16, 11), may(16, 10, 30))),
    ),
]


@pytest.mark.parametrize(
    ("policy", "history", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_compute_due(policy: Policy, history: History, expected: Due) -> None:
    found = history.due(policy)
    assert found == expected
    assert all(
        moment.tzinfo is UTC
        for _, due_at, warning in found.running()
        for moment in (due_at, warning)
    )


def test_running_lists_the_clocks_that_run() -> None:
    assert History().due(STANDARD).running() == (
        ("first_response", may(11, 14), may(11, 13)),
        ("resolution", *RESOLUTION_MON_10),
    )
    assert History(resolved_at=may(11, 12)).due(STANDARD).running() == ()


def test_running_clocks_say_where_each_clock_starts() -> None:
    clocks = running_clocks(
        STANDARD,
        created_at=datetime(2026, 5, 11, 10, tzinfo=NEW_YORK),
        first_response_at=may(11, 12),
        last_customer_message_at=may(11, 13),
        last_agent_reply_at=may(11, 12),
        resolved_at=None,
    )
    assert clocks == Clocks(first_response=None, next_response=may(11, 13), resolution=may(11, 10))


def test_a_pending_ticket_never_breaches_while_it_waits() -> None:
    history = History(pending_periods=(pending(may(11, 11), None),))
    for hours in range(1, 72):
        now = may(11, 11) + timedelta(hours=hours)
        found = History(pending_periods=history.pending_periods, now=now).due(STANDARD)
        assert found.first_response is not None and found.first_response > now
        assert remaining(OFFICE, now, found.first_response) == timedelta(hours=3)


def test_a_zero_budget_is_due_at_once() -> None:
    instant = Policy("instant", OFFICE, timedelta(0), None, None, 0.5)
    assert History(created_at=may(16, 12)).due(instant) == due(first=(may(16, 12), may(16, 12)))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"warn_at": 0.0}, "warn_at must be between 0 and 1"),
        ({"warn_at": 1.0}, "warn_at must be between 0 and 1"),
        ({"warn_at": 1.5}, "warn_at must be between 0 and 1"),
        ({"first_response": timedelta(hours=-1)}, "first_response must not be negative"),
        ({"resolution": timedelta(seconds=-1)}, "resolution must not be negative"),
    ],
)
def test_policy_rejects_bad_values(fields: dict[str, object], message: str) -> None:
    values: dict[str, object] = {
        "name": "broken",
        "calendar": OFFICE,
        "first_response": None,
        "next_response": None,
        "resolution": None,
        "warn_at": 0.8,
    } | fields
    with pytest.raises(ValueError, match=message):
        Policy(**values)  # type: ignore[arg-type]


def test_spans_are_checked_and_kept_in_utc() -> None:
    span = Span(datetime(2026, 5, 11, 10, tzinfo=NEW_YORK), None)
    assert span.start == may(11, 10) and span.start.tzinfo is UTC
    with pytest.raises(ValueError, match="before it starts"):
        Span(may(11, 12), may(11, 11))
    with pytest.raises(ValueError, match="span start must be timezone-aware"):
        Span(datetime(2026, 5, 11, 10), None)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        History(now=datetime(2026, 5, 11, 11)).due(STANDARD)
    with pytest.raises(ValueError, match="created_at must be timezone-aware"):
        History(created_at=datetime(2026, 5, 11, 10)).due(STANDARD)


REMAINING_CASES = [
    ("plenty left", OFFICE, may(11, 10), may(11, 14), timedelta(hours=4)),
    ("over the weekend", OFFICE, may(15, 16), may(18, 10), timedelta(hours=2)),
    ("breached", OFFICE, may(12, 12), may(11, 14), timedelta(hours=-6)),
    # Due at Friday's close and now Saturday: no business time has passed since, so zero.
    ("due at close, now closed", OFFICE, may(16, 12), may(15, 17), timedelta(0)),
    ("24/7", ALWAYS_OPEN, may(16, 10), may(16, 9, 45), timedelta(minutes=-15)),
]


@pytest.mark.parametrize(
    ("calendar", "now", "due_at", "expected"),
    [case[1:] for case in REMAINING_CASES],
    ids=[case[0] for case in REMAINING_CASES],
)
def test_remaining(
    calendar: Calendar, now: datetime, due_at: datetime, expected: timedelta
) -> None:
    assert remaining(calendar, now, due_at) == expected


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(hours=1, minutes=20), "1h 20m"),
        (timedelta(days=2, hours=3), "2d 3h"),
        (timedelta(minutes=-15), "-15m"),
        (timedelta(0), "0m"),
        (timedelta(seconds=45), "0m"),
        (timedelta(seconds=-45), "0m"),
        (timedelta(hours=2), "2h"),
        (timedelta(days=2), "2d"),
        (timedelta(days=2, minutes=30), "2d"),
        (-timedelta(days=1, hours=2, minutes=30), "-1d 2h"),
        (timedelta(minutes=59, seconds=59), "59m"),
        (timedelta(hours=3, minutes=5, seconds=59), "3h 5m"),
        (timedelta(days=400), "400d"),
    ],
)
def test_humanize(delta: timedelta, text: str) -> None:
    assert humanize(delta) == text


# Property: whatever the (disjoint) pending periods, the business time between a clock's
# start and its due time, less the business time paused inside it, is the budget.
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
minutes = st.integers(0, 60 * 24 * 40)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 60 * 24 * 300),
    st.integers(0, 60 * 40),
    st.lists(minutes, max_size=6, unique=True).map(sorted),
)
def test_due_is_budget_plus_paused_business_time(
    created: int, budget_minutes: int, bounds: list[int]
) -> None:
    created_at = EPOCH + timedelta(minutes=created)
    budget = timedelta(minutes=budget_minutes)
    pauses = tuple(
        Span(created_at + timedelta(minutes=a), created_at + timedelta(minutes=b))
        for a, b in zip(bounds[::2], bounds[1::2], strict=False)
    )
    policy = Policy("property", OFFICE, None, None, budget, warn_at=0.5)
    found = History(created_at=created_at, pending_periods=pauses, now=created_at).due(policy)
    assert found.resolution is not None and found.resolution_warning is not None
    paused = sum(
        (
            business_time_between(OFFICE, pause.start, min(pause.end, found.resolution))
            for pause in pauses
            if pause.end is not None and pause.start < found.resolution
        ),
        timedelta(0),
    )
    assert business_time_between(OFFICE, created_at, found.resolution) - paused == budget
    assert found.resolution_warning <= found.resolution
    assert found.resolution >= add_business_time(OFFICE, created_at, budget)
