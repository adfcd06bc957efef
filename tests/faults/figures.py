"""What each fault test tried and what survived: printed, and kept for the README.

Every test of the suite records its figures through the `figures` fixture. They are printed
(visible with `pytest -s`, and in the report of a failing test) and, when
`MAILTICKETS_FAULTS_FIGURES` names a JSON file, merged into it, from which `report.py`
refreshes the table in `tests/faults/README.md` (`make faults`).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

FIGURES_ENV = "MAILTICKETS_FAULTS_FIGURES"
#: Scale of the heavy tests: 1.0 is the issue's full scale (`make faults`).
SCALE_ENV = "MAILTICKETS_FAULTS_SCALE"


def scaled(full: int, minimum: int) -> int:
    """`full` times the scale from the environment, never below `minimum`."""
    factor = float(os.environ.get(SCALE_ENV, "1"))
    return max(minimum, round(full * factor))


@dataclass
class Figures:
    """Counts for one test; `tried` and `survived` say in words what they mean."""

    test: str
    tried: str = ""
    survived: str = ""
    messages: int = 0
    kills: int = 0
    faults: int = 0
    malformed: int = 0
    lost: int = 0
    duplicated: int = 0
    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def render(self) -> str:
        counts = ", ".join(
            f"{name} {getattr(self, name)}"
            for name in ("messages", "kills", "faults", "malformed", "lost", "duplicated")
        )
        lines = [f"[faults] {self.test}", f"  tried: {self.tried}", f"  {counts}"]
        lines += [f"  {note}" for note in self.notes]
        lines.append(f"  survived: {self.survived}")
        return "\n".join(lines)


def save(figures: Figures, path: Path) -> None:
    """Merge one test's figures into the JSON file at `path`, keyed by test name."""
    known = json.loads(path.read_text()) if path.exists() else {}
    known[figures.test] = asdict(figures)
    path.write_text(json.dumps(known, indent=2, sort_keys=True) + "\n")
