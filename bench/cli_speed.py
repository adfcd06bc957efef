"""How long the command line takes: `mailtickets --version`, and `tickets list` over 10,000
tickets, each as a whole process (interpreter start-up and imports included)."""

from __future__ import annotations

import resource
import subprocess
import tempfile
import time
from pathlib import Path

from bench import sla_sweep
from bench.figures import Figure, Scale, Target
from tests.support.cli import COMMAND, environment

#: The size of help desk `tickets list` is timed on (the issue's figure).
TICKETS = 10_000
VERSION_NOTE = (
    "the process imports only click and the package's __init__ (about 50 ms on an idle "
    "core; see the CPU time figure); on a machine busy with other work the rest of the wall "
    "clock is the wait for a core"
)
LIST_NOTE = (
    "importing SQLAlchemy's engine and ORM and the models takes about half of it, the "
    "configuration and the mail parser (`services.tickets` imports `mail.parse` for one "
    "constant) a fifth; the rest is the rows: the timestamps and enums of the result, the "
    "JSON view's ISO strings and the table. On a machine busy with other work the wall "
    "clock adds the wait for a core (see the CPU time figure)"
)


def run_ms(args: list[str], cwd: Path) -> tuple[float, float]:
    """Milliseconds of one `mailtickets ARGS` process, which must succeed: on the clock, and
    of CPU (user and system), which a machine busy with other work inflates far less."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        [*COMMAND, *args],
        cwd=cwd,
        env=environment(sla_sweep.ENVIRONMENT),
        capture_output=True,
        check=True,
    )
    wall = (time.perf_counter() - started) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return wall, cpu


def measure(scale: Scale) -> list[Figure]:
    tickets = min(TICKETS, scale.sla_tickets)
    with tempfile.TemporaryDirectory(dir=scale.work) as directory:
        here = Path(directory)
        url = f"sqlite:///{here}/mailtickets.db"
        sla_sweep.build(url, tickets, 0)
        config = here / "mailtickets.toml"
        config.write_text(sla_sweep.CONFIG.format(url=url))
        listing = ["--config", str(config), "tickets", "list"]
        # The first run of each fills the file system's cache; it is not counted.
        run_ms(["--version"], here)
        run_ms(listing, here)
        version = [run_ms(["--version"], here) for _ in range(scale.runs)]
        listed = [run_ms(listing, here) for _ in range(scale.runs)]
    what = f"`mailtickets tickets list` over {tickets:,} tickets (sqlite)"
    return [
        Figure(
            "cli_version",
            "`mailtickets --version`, whole process",
            "ms",
            tuple(wall for wall, _ in version),
            Target(150, higher_is_better=False, if_missed=VERSION_NOTE),
        ),
        Figure(
            "cli_version_cpu",
            "`mailtickets --version`, CPU time of the process",
            "ms",
            tuple(cpu for _, cpu in version),
        ),
        Figure(
            "cli_list",
            f"{what}, whole process",
            "ms",
            tuple(wall for wall, _ in listed),
            Target(400, higher_is_better=False, if_missed=LIST_NOTE),
        ),
        Figure(
            "cli_list_cpu", f"{what}, CPU time of the process", "ms", tuple(c for _, c in listed)
        ),
    ]
