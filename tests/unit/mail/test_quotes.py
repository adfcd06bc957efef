"""new_text() against the mail-client fixtures in tests/data/quotes, plus its invariants.

Each fixture is `<kind>/<language>_<client>_<what>.txt` with the body and beside it
`….expected.txt` with the new text; bench/quotes.py scores the libraries on the same files.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mailtickets.mail.quotes import new_text

DATA_DIR = Path(__file__).parents[2] / "data" / "quotes"
EXPECTED_SUFFIX = ".expected.txt"
CASES = sorted(
    path.relative_to(DATA_DIR).as_posix().removesuffix(".txt")
    for path in DATA_DIR.rglob("*.txt")
    if not path.name.endswith(EXPECTED_SUFFIX)
)


def _body(name: str) -> str:
    return (DATA_DIR / f"{name}.txt").read_text(encoding="utf-8")


def _expected(name: str) -> str:
    return (DATA_DIR / f"{name}{EXPECTED_SUFFIX}").read_text(encoding="utf-8").strip()


def test_fixture_set_is_complete() -> None:
    assert len(CASES) >= 400
    missing = [name for name in CASES if not (DATA_DIR / f"{name}{EXPECTED_SUFFIX}").is_file()]
    assert missing == []


@pytest.mark.parametrize("name", CASES)
def test_new_text_matches_expected(name: str) -> None:
    assert new_text(_body(name)) == _expected(name)


@pytest.mark.parametrize("name", CASES)
def test_new_text_only_returns_lines_of_the_body(name: str) -> None:
    body_lines = set(_body(name).splitlines())
    assert [line for line in new_text(_body(name)).splitlines() if line not in body_lines] == []


@pytest.mark.parametrize("name", CASES)
def test_line_endings_do_not_matter(name: str) -> None:
    body = _body(name)
    assert new_text(body.replace("\n", "\r\n")) == new_text(body)
    assert new_text(body.replace("\n", "\r")) == new_text(body)


@pytest.mark.parametrize("body", ["", "   ", "\n\n\t\n"])
def test_blank_body_gives_empty_text(body: str) -> None:
    assert new_text(body) == ""


@pytest.mark.parametrize(
    "body",
    [
        "> only a quote\n> nothing else\n",
        "-- \nJust a signature\n",
        "Sent from my iPhone\n",
        "From: A <a@example.com>\nSent: Monday\nTo: B\nSubject: x\n\nhistory only\n",
    ],
)
def test_never_empty_for_a_non_blank_body(body: str) -> None:
    assert new_text(body) == body.strip()


def test_text_above_a_quote_is_kept_verbatim() -> None:
    body = "  indented first line\n\nOn Mon, 2 Nov 2026 at 10:00, X <x@example.com> wrote:\n> q\n"
    assert new_text(body) == "indented first line"


def test_attribution_needs_a_date_to_count() -> None:
    body = "On the other hand, Bob wrote:\n\nthe report is wrong.\n"
    assert new_text(body) == body.strip()


# Bodies built to make line patterns backtrack (once quadratic: a long rule line took seconds
# per 10 kB). They hold nothing to strip; bench/quotes.py times 1 MiB versions of them.
HOSTILE = {
    "rule with a letter at the end": "- " * 50_000 + "x\n",
    "spaces ending in '>'": ("x" + " " * 390 + ">\n") * 300,
    "header blocks of bare addresses": ("From: " + "a@b " * 98 + "\nTo: " + "a@b " * 98 + "\n")
    * 150,
    "openers full of digits": ("On " + "1 " * 190 + "\n") * 300,
    "tagline padded with spaces": ("Sent from my " + " " * 380 + "iphone\n") * 300,
}


@pytest.mark.parametrize("body", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_bodies_come_back_whole(body: str) -> None:
    assert new_text(body) == body.strip()
