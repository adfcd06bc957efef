"""Render the figures the fault suite saved (JSON) into the table of its README.

`python -m tests.faults.report FIGURES.json tests/faults/README.md` replaces what stands
between the two FIGURES markers of the README; `make faults` runs it after the suite.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

START, END = "<!-- FIGURES START -->", "<!-- FIGURES END -->"
COUNTS = ("messages", "kills", "faults", "malformed", "lost", "duplicated")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(figures: dict[str, dict[str, Any]], scale: str) -> str:
    """The figures as a Markdown table with a totals row, then each test's notes."""
    header = "| test | " + " | ".join(COUNTS) + " | what survived |"
    lines = [f"Measured by `make faults` at scale {scale}.", "", header]
    lines.append("|" + " --- |" * (len(COUNTS) + 2))
    totals = dict.fromkeys(COUNTS, 0)
    for name in sorted(figures):
        entry = figures[name]
        counts = [int(entry[c]) for c in COUNTS]
        for count_name, count in zip(COUNTS, counts, strict=True):
            totals[count_name] += count
        cells = [f"`{name}`", *map(str, counts), _cell(str(entry["survived"]))]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("| **total** | " + " | ".join(f"**{totals[c]}**" for c in COUNTS) + " | |")
    lines += ["", "What each test tried, and what it saw on the way:", ""]
    for name in sorted(figures):
        entry = figures[name]
        lines.append(f"- `{name}`: {_cell(str(entry['tried']))}")
        lines += [f"  - {_cell(str(note))}" for note in entry.get("notes", [])]
    return "\n".join(lines)


def refresh(figures_path: Path, readme: Path, scale: str) -> None:
    text = readme.read_text()
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    if END not in rest:
        raise SystemExit(f"{readme}: the {START} … {END} markers are missing")
    table = render(json.loads(figures_path.read_text()), scale)
    readme.write_text(f"{head}{START}\n{table}\n{END}{tail}")


if __name__ == "__main__":
    refresh(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "1")
