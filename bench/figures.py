"""What a benchmark part reports: figures with their runs, targets and the reason for a miss."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Target:
    """A figure's goal: at least (`higher_is_better`) or at most `value`."""

    value: float
    higher_is_better: bool
    #: Why the figure can miss it on this kind of machine; shown only when it does.
    if_missed: str = ""

    def met(self, figure: float) -> bool:
        return figure >= self.value if self.higher_is_better else figure <= self.value

    def verdict(self, figure: float) -> str:
        sign = "≥" if self.higher_is_better else "≤"
        goal = f"target {sign} {self.value:g}"
        if self.met(figure):
            return f"met ({goal})"
        if self.higher_is_better:
            short = f"{_percent(1 - figure / self.value)} short" if self.value else "short"
        else:
            short = f"{_percent(figure / self.value - 1)} over" if self.value else "over"
        return f"**missed** by {short} ({goal})" + (f": {self.if_missed}" if self.if_missed else "")


def _percent(fraction: float) -> str:
    # A near miss (an accuracy of 99.3 against 99.5) must not read as "0% short".
    return f"{fraction * 100:.1f}%" if fraction < 0.01 else f"{fraction * 100:.0f}%"


@dataclass(frozen=True)
class Figure:
    """One measured quantity: every run's value; the median is the figure."""

    key: str
    label: str
    unit: str
    runs: tuple[float, ...]
    target: Target | None = None
    #: The key of another figure this one is also shown as a ratio of (the parse ceiling).
    ratio_of: str | None = None
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.runs)


@dataclass(frozen=True)
class Scale:
    """How big and how often: `full` for RESULTS.md, `smoke` for the test suite."""

    name: str
    runs: int
    corpus: int
    clients: int
    imap_backlog: int
    latency_seconds: float
    #: The offered loads of the latency curve, as fractions of the measured capacity.
    latency_fractions: tuple[float, ...]
    sla_tickets: int
    big_attachment: int
    work: Path = field(default=Path())
    #: Where plots are drawn: beside the report.
    plots: Path = field(default=Path())


@dataclass(frozen=True)
class Table:
    """A breakdown too wide for one figure, printed as its own section below the figures."""

    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""

    def markdown(self) -> list[str]:
        lines = [f"## {self.title}", ""]
        if self.note:
            lines += [self.note, ""]
        lines.append("| " + " | ".join(self.header) + " |")
        lines.append("|---|" + "---:|" * (len(self.header) - 1))
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return lines


#: A benchmark part: measures at `scale` and returns its figures (and any breakdown tables).
Part = Callable[[Scale], Sequence[Figure | Table]]


def repeat(runs: int, measure: Callable[[], float]) -> tuple[float, ...]:
    """`measure()` run `runs` times; each returns one value."""
    return tuple(measure() for _ in range(runs))


def timed(action: Callable[[], object]) -> float:
    """Seconds `action()` took."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started
