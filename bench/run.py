"""Run the benchmark parts and write `bench/RESULTS.md`; `make bench` runs this.

    python -m bench.run [--scale full|smoke] [--part NAME ...] [--output FILE]

Each part is a function `Scale → [Figure]` listed in PARTS; a new measurement is one more
module with such a function and one more line there. A part that cannot run (no Dovecot, no
PostgreSQL) is reported as not measured, and the command then exits with status 1.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from bench import (
    bounces,
    ceiling,
    cli_speed,
    hostile_parse,
    imap_backlog,
    imap_poller,
    ingest,
    latency,
    pipeline,
    quotes,
    scaleout,
    sla_sweep,
    thread_accuracy,
)
from bench.figures import Figure, Part, Scale, Table

#: In the order they run; the ceiling first, so that ratios to it can be shown.
PARTS: dict[str, Part] = {
    "ceiling": ceiling.measure,
    "hostile-parse": hostile_parse.measure,
    "smtp": ingest.smtp_sqlite,
    "pipeline": pipeline.measure,
    "import": ingest.import_mbox,
    "imap": imap_backlog.measure,
    "imap-poller": imap_poller.measure,
    "latency": latency.measure,
    "sla": sla_sweep.measure_sqlite,
    "memory": ingest.big_attachment,
    "smtp-postgresql": ingest.smtp_postgres,
    "sla-postgresql": sla_sweep.measure_postgres,
    "scaleout": scaleout.measure,
    "quotes": quotes.measure,
    "bounces": bounces.measure,
    "threading": thread_accuracy.measure,
    "cli": cli_speed.measure,
}

SCALES = {
    # Sized so that `make bench` takes about a quarter of an hour on a small shared machine.
    "full": Scale(
        name="full",
        runs=3,
        corpus=1000,
        clients=8,
        imap_backlog=2000,
        latency_seconds=5,
        latency_fractions=(0.25, 0.5, 0.75, 1.0),
        sla_tickets=1_000_000,
        big_attachment=25 * 1024 * 1024,
    ),
    "smoke": Scale(
        name="smoke",
        runs=1,
        corpus=12,
        clients=2,
        imap_backlog=12,
        latency_seconds=0.2,
        latency_fractions=(0.5,),
        sla_tickets=1000,
        big_attachment=1024 * 1024,
    ),
}
LIBRARIES = ("sqlalchemy", "aiosmtpd", "imapclient", "psycopg", "jinja2", "inscriptis")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="full")
    parser.add_argument("--part", action="append", choices=list(PARTS), dest="parts")
    parser.add_argument("--output", type=Path, default=Path(__file__).parent / "RESULTS.md")
    parser.add_argument(
        "--imap-backlog", type=int, help="messages in the IMAP backlog (the issue asks 10000)"
    )
    args = parser.parse_args()
    # The daemons write their own logs; the runner reports figures only.
    logging.basicConfig(level=logging.WARNING)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mailtickets-bench-") as work:
        scale = replace(SCALES[args.scale], work=Path(work), plots=args.output.parent)
        if args.imap_backlog:
            scale = replace(scale, imap_backlog=args.imap_backlog)
        figures, tables, failures = run_parts(scale, args.parts or list(PARTS))
    minutes = (time.perf_counter() - started) / 60
    args.output.write_text(report(scale, figures, failures, minutes, tables))
    print(f"wrote {args.output} in {minutes:.1f} min", file=sys.stderr)
    if failures:
        sys.exit(1)


def run_parts(scale: Scale, names: list[str]) -> tuple[list[Figure], list[Table], dict[str, str]]:
    figures: list[Figure] = []
    tables: list[Table] = []
    failures: dict[str, str] = {}
    for name in names:
        print(f"{name} …", file=sys.stderr, flush=True)
        try:
            measured = PARTS[name](scale)
        except Exception as exc:  # noqa: BLE001  (reported; the other parts still run)
            traceback.print_exc()
            failures[name] = f"{type(exc).__name__}: {exc}".splitlines()[0]
            continue
        for item in measured:
            if isinstance(item, Table):
                tables.append(item)
                continue
            print(f"  {item.label}: {item.median:.1f} {item.unit}", file=sys.stderr)
            figures.append(item)
    return figures, tables, failures


def report(
    scale: Scale,
    figures: list[Figure],
    failures: dict[str, str],
    minutes: float,
    tables: list[Table],
) -> str:
    by_key = {figure.key: figure for figure in figures}
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` (`python -m bench.run --scale {scale.name}`) on "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC in {minutes:.1f} minutes.",
        "The machine is shared with other work, so absolute figures move from run to run;",
        "read them, and the ratios, as figures from one run. Each figure is the median of",
        f"{scale.runs} runs (every run's value is listed).",
        "",
        "## Setting",
        "",
        *[f"- {line}" for line in setting()],
        f"- Corpus: {scale.corpus:,} messages, seed 11 (`bench/corpus.py`); "
        f"{scale.clients} concurrent SMTP clients.",
        "",
        "## Figures",
        "",
        "| Figure | Median | Runs | vs. ceiling | Target |",
        "|---|---:|---|---:|---|",
    ]
    for figure in figures:
        ceiling = by_key.get(figure.ratio_of or "")
        ratio = figure.median / ceiling.median if ceiling else None
        verdict = ""
        if figure.target is not None:
            # A target on a figure shown against the ceiling is a target on that ratio.
            verdict = figure.target.verdict(figure.median if ratio is None else ratio)
        runs = ", ".join(f"{value:.1f}" for value in figure.runs)
        note = f" ({figure.note})" if figure.note else ""
        lines.append(
            f"| {figure.label}{note} | {figure.median:,.1f} {figure.unit} | {runs} "
            f"| {'' if ratio is None else f'{ratio:.2f}x'} | {verdict} |"
        )
    for table in tables:
        lines += ["", *table.markdown()]
    if failures:
        lines += ["", "## Not measured", ""]
        lines += [f"- `{name}`: {reason}" for name, reason in failures.items()]
    return "\n".join(lines) + "\n"


def setting() -> list[str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    memory = next(
        line.split()[1]
        for line in Path("/proc/meminfo").read_text().splitlines()
        if "MemTotal" in line
    )
    versions = ", ".join(f"{name} {_version(name)}" for name in LIBRARIES)
    return [
        f"Machine: {platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} cores, "
        f"{int(memory) / 1024 / 1024:.1f} GiB",
        f"Python {platform.python_version()} ({platform.python_implementation()})",
        f"Libraries: {versions}",
        f"Servers: Dovecot {_command('dovecot', '--version')}; "
        f"PostgreSQL {_command('psql', '-XAtc', 'SHOW server_version', '-h', '127.0.0.1', 'test')}",
        f"Commit: {_commit()}",
    ]


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


def _command(*argv: str) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return f"{argv[0]} absent"
    return done.stdout.strip() or done.stderr.strip()


def _commit() -> str:
    head = _command("git", "rev-parse", "--short", "HEAD")
    dirty = _command("git", "status", "--porcelain", "--untracked-files=no")
    return head + (" with uncommitted changes" if dirty and "fatal" not in dirty else "")


if __name__ == "__main__":
    main()
