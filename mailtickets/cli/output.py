"""How the commands print: tables under a header row, and JSON."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import click


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Print `rows` in columns under `header` (nothing when there are none); None shows as
    "-", the last column is not padded (it holds the long texts: subjects, reasons)."""
    cells = [[_cell(value) for value in row] for row in rows]
    if not cells:
        return
    widths = [max([len(name), *(len(line[i]) for line in cells)]) for i, name in enumerate(header)]
    lines = []
    for line in [list(header), *cells]:
        padded = [value.ljust(width) for value, width in zip(line[:-1], widths, strict=False)]
        lines.append("  ".join([*padded, line[-1]]).rstrip())
    # One write: an echo per row took longer than the query of 10,000 tickets.
    click.echo("\n".join(lines))


def print_json(value: object) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def when(iso: str | None) -> str:
    """An ISO timestamp from the JSON views, in UTC to the minute, for a table."""
    if iso is None:
        return "-"
    return f"{datetime.fromisoformat(iso).astimezone(UTC):%Y-%m-%d %H:%M}"


def _cell(value: object) -> str:
    return "-" if value is None else str(value)
