"""How long the command line takes: `mailtickets --version`, and `tickets list` over 10,000
tickets, each as a whole process (interpreter start-up and imports included).

Twice each, taking turns: as installed, and from the source tree. `pip install` compiles the
package's bytecode as it installs it; a source tree under PYTHONDONTWRITEBYTECODE (set where
the project's tests and benchmarks run) has every module of the package compiled again by
every process. The targets are for the installed package: a copy of it made as a wheel lays
it out (templates and migrations in `mailtickets/_data/`) and compiled with `compileall`.
"""

from __future__ import annotations

import compileall
import os
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench import sla_sweep
from bench.figures import Figure, Scale, Target
from tests.support.cli import COMMAND, SOURCE, environment

#: The size of help desk `tickets list` is timed on (the issue's figure).
TICKETS = 10_000
VERSION_NOTE = (
    "the process imports only click and the package's __init__ (about 50 ms on an idle "
    "core; see the CPU time figure); on a machine busy with other work the rest of the wall "
    "clock is the wait for a core"
)
LIST_NOTE = (
    "the listing imports no SQLAlchemy (a plain SQLite file is read through sqlite3); what "
    "is left is the interpreter and click (about 60 ms), the configuration (the frozen "
    "dataclasses of `config.settings` and their readers, about a third), the 10,000 rows "
    "and the table. On a machine busy with other work the wall clock adds the wait for a "
    "core (see the CPU time figure)"
)
#: How the figures' labels name the two ways the package is run.
INSTALLED = "installed (bytecode compiled, as pip install does)"
FROM_SOURCE = "from the source tree, compiled by each process (PYTHONDONTWRITEBYTECODE)"


def install(into: Path) -> Path:
    """The package as a wheel installs it, its bytecode compiled; the directory to put on
    the module path."""
    skip = shutil.ignore_patterns("__pycache__")
    shutil.copytree(SOURCE / "mailtickets", into / "mailtickets", ignore=skip)
    for data in ("templates", "migrations"):
        shutil.copytree(SOURCE / data, into / "mailtickets" / "_data" / data, ignore=skip)
    assert compileall.compile_dir(into, quiet=1)
    return into


def run_ms(args: list[str], cwd: Path, path: Path | None) -> tuple[float, float]:
    """Milliseconds of one `mailtickets ARGS` process, which must succeed, importing the
    package from `path` (None: the source tree): on the clock, and of CPU (user and
    system), which a machine busy with other work inflates far less."""
    env = environment(sla_sweep.ENVIRONMENT)
    if path is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(path), env["PYTHONPATH"]])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([*COMMAND, *args], cwd=cwd, env=env, capture_output=True, check=True)
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
        installed = install(here / "site-packages")
        commands = {
            "version": ["--version"],
            "list": ["--config", str(config), "tickets", "list"],
        }
        ways = {"installed": installed, "source": None}
        runs: dict[tuple[str, str], list[tuple[float, float]]] = {
            (command, way): [] for command in commands for way in ways
        }
        # The first run of each fills the file system's cache; it is not counted. Then the
        # ways take turns, so that a change in the machine's load touches both alike.
        for count in (False, *[True] * scale.runs):
            for (command, way), done in runs.items():
                timed = run_ms(commands[command], here, ways[way])
                if count:
                    done.append(timed)
    what = f"`mailtickets tickets list` over {tickets:,} tickets (sqlite)"
    figures = []
    for way, how in (("installed", INSTALLED), ("source", FROM_SOURCE)):
        suffix = "" if way == "installed" else "_source"
        version, listed = runs["version", way], runs["list", way]
        target = way == "installed"
        figures += [
            Figure(
                f"cli_version{suffix}",
                f"`mailtickets --version`, whole process, {how}",
                "ms",
                tuple(wall for wall, _ in version),
                Target(150, higher_is_better=False, if_missed=VERSION_NOTE) if target else None,
            ),
            Figure(
                f"cli_version_cpu{suffix}",
                f"`mailtickets --version`, CPU time of the process, {how}",
                "ms",
                tuple(cpu for _, cpu in version),
            ),
            Figure(
                f"cli_list{suffix}",
                f"{what}, whole process, {how}",
                "ms",
                tuple(wall for wall, _ in listed),
                Target(400, higher_is_better=False, if_missed=LIST_NOTE) if target else None,
            ),
            Figure(
                f"cli_list_cpu{suffix}",
                f"{what}, CPU time of the process, {how}",
                "ms",
                tuple(cpu for _, cpu in listed),
            ),
        ]
    return figures
