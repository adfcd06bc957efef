"""Quote stripping: our `new_text` beside the reply parsers other projects use, on our fixtures.

The cases are tests/data/quotes/<kind>/<language>_<client>_<what>.txt with the expected new
text beside each (the unit tests assert that ours gets every one right). Each library gets the
body and is scored on whether its answer is the expected text, compared with trailing spaces
and runs of blank lines evened out, since none of them promises to keep those. A library that
is not installed (`pip install '.[bench]'`) is listed as such and not scored; one that raises
on a case gets that case wrong.

How each library is asked for the new text, the way its documentation shows:
- talon: `quotations.extract_from_plain`, then `signature.bruteforce.extract_signature`;
- email-reply-parser: `EmailReplyParser.parse_reply`;
- mail-parser-reply: `EmailReplyParser(languages=<all it knows>).parse_reply`;
- quotequail: `unwrap(body)["text_top"]` when it finds a reply, else the body.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.figures import Figure, Scale, Table, Target, repeat, timed
from mailtickets.mail.quotes import new_text

CASES = Path(__file__).resolve().parents[1] / "tests" / "data" / "quotes"
EXPECTED = ".expected.txt"
OURS = "mailtickets"
#: Languages named by a case file's first word; the basics cases predate the naming.
LANGUAGES = {
    "en", "pt", "es", "fr", "de", "nl", "it", "pl", "da", "no", "sv", "fi", "ru", "uk", "ro",
    "ca", "el", "zh", "ja", "ko", "cs", "hu", "tr",
}  # fmt: skip

Stripper = Callable[[str], str]

#: Bodies built to make line patterns backtrack: each about 1 MiB. The unit tests check what
#: new_text returns; how long it takes is a figure here, held to the parser's 2 s bound.
HOSTILE_MS = 2000.0
HOSTILE = {
    "a rule of dashes with one letter at the end": "- " * 500_000 + "x\n",
    "lines of spaces ending in '>'": ("x" + " " * 390 + ">\n") * 2700,
    "header blocks of bare addresses": ("From: " + "a@b " * 98 + "\nTo: " + "a@b " * 98 + "\n")
    * 1330,
    "attribution openers full of digits": ("On " + "1 " * 190 + "\n") * 2700,
}


@dataclass(frozen=True)
class Case:
    kind: str
    language: str
    name: str
    body: str
    expected: str


def _milliseconds(body: str) -> float:
    return timed(lambda: new_text(body)) * 1000


def load_cases() -> list[Case]:
    cases = []
    for path in sorted(CASES.rglob("*.txt")):
        if path.name.endswith(EXPECTED):
            continue
        prefix = path.name.split("_", 1)[0]
        cases.append(
            Case(
                kind=path.parent.name,
                language=prefix if prefix in LANGUAGES else "other",
                name=path.stem,
                body=path.read_text(encoding="utf-8"),
                expected=path.with_name(path.stem + EXPECTED).read_text(encoding="utf-8"),
            )
        )
    return cases


def normalise(text: str) -> str:
    """Trailing spaces and runs of blank lines evened out: no library promises to keep them."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _talon() -> Stripper:
    quotations = importlib.import_module("talon.quotations")
    bruteforce = importlib.import_module("talon.signature.bruteforce")

    def strip(body: str) -> str:
        text: str = quotations.extract_from_plain(body)
        reply: str = bruteforce.extract_signature(text)[0]
        return reply

    return strip


def _email_reply_parser() -> Stripper:
    parser: Any = importlib.import_module("email_reply_parser").EmailReplyParser

    def strip(body: str) -> str:
        return str(parser.parse_reply(body))

    return strip


def _mail_parser_reply() -> Stripper:
    module = importlib.import_module("mailparser_reply")
    languages = list(importlib.import_module("mailparser_reply.constants").MAIL_LANGUAGES)
    parser: Any = module.EmailReplyParser(languages=languages)

    def strip(body: str) -> str:
        return str(parser.parse_reply(body) or "")

    return strip


def _quotequail() -> Stripper:
    module: Any = importlib.import_module("quotequail")

    def strip(body: str) -> str:
        found = module.unwrap(body)
        return str(found["text_top"]) if found and "text_top" in found else body

    return strip


LIBRARIES: dict[str, Callable[[], Stripper]] = {
    "talon": _talon,
    "email-reply-parser": _email_reply_parser,
    "mail-parser-reply": _mail_parser_reply,
    "quotequail": _quotequail,
}


def _right(strip: Stripper, case: Case) -> bool:
    try:
        answer = strip(case.body)
    except Exception:  # noqa: BLE001  (a library that fails on a case gets it wrong)
        return False
    return normalise(answer) == normalise(case.expected)


def score(strippers: dict[str, Stripper], cases: list[Case]) -> dict[str, list[bool]]:
    """Per stripper, whether it got each case right, in the order of `cases`."""
    return {name: [_right(strip, case) for case in cases] for name, strip in strippers.items()}


def _percent(results: list[bool]) -> float:
    return 100 * sum(results) / len(results) if results else 0.0


def _breakdown(
    title: str, key: Callable[[Case], str], cases: list[Case], scores: dict[str, list[bool]]
) -> Table:
    groups: dict[str, list[int]] = defaultdict(list)
    for index, case in enumerate(cases):
        groups[key(case)].append(index)
    rows = tuple(
        (
            group,
            str(len(indices)),
            *(f"{_percent([scores[name][i] for i in indices]):.0f}%" for name in scores),
        )
        for group, indices in sorted(groups.items())
    )
    return Table(title, ("", "cases", *scores), rows)


def measure(scale: Scale) -> list[Figure | Table]:
    cases = load_cases()
    strippers: dict[str, Stripper] = {OURS: new_text}
    absent = []
    for name, load in LIBRARIES.items():
        try:
            strippers[name] = load()
        except ImportError:
            absent.append(name)
    scores = score(strippers, cases)
    best_library = max((_percent(scores[name]) for name in scores if name != OURS), default=0.0)
    figures: list[Figure | Table] = []
    for name, results in scores.items():
        target = Target(round(best_library, 1), higher_is_better=True) if name == OURS else None
        figures.append(
            Figure(
                f"quotes_{name}",
                f"Quote stripping, {len(cases)} fixture cases right: {name}",
                "%",
                (_percent(results),),
                target,
                note="the target is the best library's score" if target else "",
            )
        )
    for number, (what, body) in enumerate(HOSTILE.items()):
        runs = repeat(scale.runs, functools.partial(_milliseconds, body))
        figures.append(
            Figure(
                f"quotes_hostile_{number}",
                f"new_text of a body of {what} ({len(body) / (1 << 20):.1f} MiB)",
                "ms",
                runs,
                Target(HOSTILE_MS, higher_is_better=False),
            )
        )
    by_kind = _breakdown("Quote stripping by kind", lambda case: case.kind, cases, scores)
    note = "Share of cases each stripper gets right (`bench/quotes.py` says how each is asked)."
    if absent:
        note += f" Not installed, so not scored: {', '.join(absent)}."
    figures.append(Table(by_kind.title, by_kind.header, by_kind.rows, note))
    figures.append(
        _breakdown("Quote stripping by language", lambda case: case.language, cases, scores)
    )
    return figures
