"""Parsing hostile headers: one message per kind of megabyte-long header line.

The parser's tests check what comes out of such a message (the header cut, a note saying so,
the rest read); how long it takes is a figure here. Their old bound, 2 s a message, is the
target. Each figure is the time of `mailtickets.mail.parse.parse` on the whole message.
"""

from __future__ import annotations

import functools

from bench.figures import Figure, Scale, Target, repeat, timed
from mailtickets.mail.parse import parse

BIG = 1 << 20
TARGET_MS = 2000.0
CASES = {
    "a 1 MiB Subject line": b"From: pat@example.org\nSubject: " + b"x" * BIG + b"\n\nbody\n",
    "a 1 MiB unknown header line": (
        b"From: pat@example.org\nX-Long: " + b"x" * BIG + b"\nSubject: hi\n\nbody\n"
    ),
    "a To line of 70,000 addresses": (
        b"From: pat@example.org\nTo: "
        + b", ".join(b"u%d@example.org" % i for i in range(70_000))
        + b"\nSubject: hi\n\nbody\n"
    ),
    "a References line of 60,000 ids": (
        b"From: pat@example.org\nReferences: "
        + b" ".join(b"<r%d@example.org>" % i for i in range(60_000))
        + b"\nSubject: hi\n\nbody\n"
    ),
}


def _milliseconds(raw: bytes) -> float:
    return timed(lambda: parse(raw)) * 1000


def measure(scale: Scale) -> list[Figure]:
    figures = []
    for number, (what, raw) in enumerate(CASES.items()):
        runs = repeat(scale.runs, functools.partial(_milliseconds, raw))
        figures.append(
            Figure(
                f"hostile_parse_{number}",
                f"Parse of a message with {what} ({len(raw) / BIG:.1f} MiB)",
                "ms",
                runs,
                Target(TARGET_MS, higher_is_better=False),
            )
        )
    return figures
