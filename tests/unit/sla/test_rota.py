"""Who is on call: turns by wall time across daylight-saving changes, shifts first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from mailtickets.sla.rota import Rota, Shift, after, on_call

NEW_YORK = ZoneInfo("America/New_York")


def _rota(period_days: int = 7, shifts: tuple[Shift, ...] = ()) -> Rota:
    return Rota(
        "nights",
        NEW_YORK,
        ("ana", "bia", "caio"),
        datetime(2026, 10, 26, 9, 0),  # a Monday
        period_days,
        timedelta(minutes=30),
        shifts,
    )


def _local(*args: int) -> datetime:
    return datetime(*args, tzinfo=NEW_YORK).astimezone(UTC)


def test_weekly_turns_change_at_the_handovers_wall_time_across_the_clock_change() -> None:
    rota = _rota()
    assert on_call(rota, _local(2026, 10, 26, 9, 0)) == "ana"
    assert on_call(rota, _local(2026, 11, 2, 8, 59)) == "ana"
    # 1 November 2026 is the fall-back day in New York: the handover stays at 09:00 local.
    assert on_call(rota, _local(2026, 11, 2, 9, 0)) == "bia"
    assert on_call(rota, _local(2026, 11, 9, 9, 0)) == "caio"
    assert on_call(rota, _local(2026, 11, 16, 9, 0)) == "ana"  # round again


def test_daily_turns_and_nobody_before_the_first_turn() -> None:
    rota = _rota(period_days=1)
    assert on_call(rota, _local(2026, 10, 26, 8, 59)) is None
    assert on_call(rota, _local(2026, 10, 27, 3, 0)) == "ana"  # the night after the first day
    assert on_call(rota, _local(2026, 10, 27, 9, 0)) == "bia"


def test_a_shift_wins_over_the_rotation_for_the_time_it_covers() -> None:
    cover = Shift("bia", datetime(2026, 12, 24, 18, 0), datetime(2026, 12, 27, 9, 0))
    rota = _rota(shifts=(cover,))
    assert on_call(_rota(), _local(2026, 12, 25, 12, 0)) == "caio"  # the rotation alone
    assert on_call(rota, _local(2026, 12, 24, 17, 59)) == "caio"
    assert on_call(rota, _local(2026, 12, 25, 12, 0)) == "bia"
    assert on_call(rota, _local(2026, 12, 27, 9, 0)) == "caio"


def test_the_next_agent_is_the_one_whose_turn_follows() -> None:
    rota = _rota()
    assert after(rota, "ana") == "bia"
    assert after(rota, "caio") == "ana"
    assert after(rota, "someone covering a shift") == "ana"
    lone = Rota("solo", NEW_YORK, ("ana",), datetime(2026, 1, 5, 9), 7, timedelta(minutes=30))
    assert after(lone, "ana") is None


def test_a_rota_with_nobody_is_refused() -> None:
    with pytest.raises(ValueError, match="has no agents"):
        Rota("empty", NEW_YORK, (), datetime(2026, 1, 5, 9), 7, timedelta(minutes=30))
