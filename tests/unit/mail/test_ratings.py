"""Satisfaction ratings read from customers' answers in English and Portuguese."""

from __future__ import annotations

import pytest

from mailtickets.mail.ratings import Rating, parse_rating


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5", Rating(5, None)),
        ("4/5", Rating(4, None)),
        ("1 de 5", Rating(1, None)),
        ("rating: 2", Rating(2, None)),
        ("Nota 4\nMuito atencioso", Rating(4, "Muito atencioso")),
        ("5 stars - fast and friendly", Rating(5, "fast and friendly")),
        ("3 estrelas", Rating(3, None)),
        ("great", Rating(5, None)),
        ("Ótimo!", Rating(5, None)),
        ("OTIMO", Rating(5, None)),
        ("good", Rating(4, None)),
        ("muito bom", Rating(4, None)),
        ("ok", Rating(3, None)),
        ("ruim", Rating(1, None)),
        ("Péssimo", Rating(1, None)),
        ("bad\n\nI waited three days.", Rating(1, "I waited three days.")),
        ("Great, thanks a lot!", Rating(5, "Great, thanks a lot!")),
        ("⭐⭐⭐⭐", Rating(4, None)),
        ("⭐️⭐️⭐️⭐️⭐️", Rating(5, None)),
        ("★★★☆☆ slow", Rating(3, "slow")),
    ],
)
def test_ratings_are_read(text: str, expected: Rating) -> None:
    assert parse_rating(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "The printer still burns.",
        "not bad",
        "não foi bom",
        "10/10",
        "3.5",
        "0",
        "2026 was a great year",
        "Thanks!\n5",  # a rating only counts at the top
    ],
)
def test_no_rating_is_guessed(text: str) -> None:
    assert parse_rating(text) is None


def test_long_comments_are_cut() -> None:
    rating = parse_rating("5\n" + "x" * 10_000)
    assert rating is not None and rating.comment is not None
    assert len(rating.comment) == 4000
