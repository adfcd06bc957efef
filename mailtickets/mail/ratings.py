"""Read a satisfaction rating from a customer's answer, in English or Portuguese.

The rating is on the first line of the new text: a digit from 1 to 5 ("4", "4/5", "nota 4",
"5 stars"), a word ("great", "ótimo", "ruim"), or stars ("⭐⭐⭐⭐", "★★★☆☆"). What follows it
is the comment. Anything else is no rating: such a mail is an ordinary message, because a
customer who writes "the printer still burns" wants help, not a score. A negation on the
rating line ("not great", "não foi bom") also reads as no rating rather than a guess.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MAX_COMMENT = 4000

#: Words customers answer with, accents removed, by the score the request's scale gives them.
WORDS = {
    5: ("great", "excellent", "awesome", "amazing", "perfect", "otimo", "otima", "excelente"),
    4: ("good", "bom", "boa", "muito bom", "very good"),
    3: ("ok", "okay", "average", "fine", "regular", "razoavel", "mais ou menos"),
    2: ("poor", "fraco", "fraca"),
    1: (
        "bad",
        "very bad",
        "muito ruim",
        "terrible",
        "awful",
        "horrible",
        "ruim",
        "pessimo",
        "pessima",
        "horrivel",
    ),
}
_NEGATIONS = frozenset({"not", "no", "nao", "nem", "never", "nunca"})
_DIGIT = re.compile(
    r"^(?:(?:rating|score|nota|avaliacao)\s*[:=]?\s*)?([1-5])(?:\s*(?:/|de|out of|of)\s*5)?"
    r"(?:\s*(?:stars?|estrelas?))?(?![\d.,]\d)\b"
)
_STARS = re.compile("^([⭐★☆\ufe0f\\s]+)")  # U+FE0F: the emoji form some phones send
_SEPARATORS = " \t-\u2013\u2014:;,.!"  # dashes too: "5 — fast"


@dataclass(frozen=True)
class Rating:
    score: int  # 1 (bad) to 5 (great)
    comment: str | None


def parse_rating(text: str) -> Rating | None:
    """The rating at the start of `text` and the comment after it; None when there is none."""
    lines = text.strip().splitlines()
    if not lines:
        return None
    first, rest = lines[0].strip(), "\n".join(lines[1:]).strip()
    found = _digit(first) or _stars(first) or _word(first)
    if found is None:
        return None
    score, remainder = found
    comment = "\n".join(part for part in (remainder.lstrip(_SEPARATORS).rstrip(), rest) if part)
    return Rating(score, comment[:MAX_COMMENT] or None)


def _plain(text: str) -> str:
    """Lowercase without accents, so "Ótimo", "otimo" and "ÓTIMO" read alike."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _digit(line: str) -> tuple[int, str] | None:
    plain = _plain(line)
    match = _DIGIT.match(plain)
    if match is None:
        return None
    # Removing accents keeps the length of precomposed text; otherwise the plain form will do.
    rest = line[match.end() :] if len(plain) == len(line) else plain[match.end() :]
    return int(match.group(1)), rest


def _stars(line: str) -> tuple[int, str] | None:
    match = _STARS.match(line)
    if match is None:
        return None
    filled = sum(match.group(1).count(star) for star in "⭐★")
    return (filled, line[match.end() :]) if 1 <= filled <= 5 else None


def _word(line: str) -> tuple[int, str] | None:
    plain = _plain(line)
    words = re.findall(r"[a-z]+", plain)
    if _NEGATIONS & set(words[:4]):
        return None
    head = " ".join(words[:3])
    for score, choices in WORDS.items():
        for choice in sorted(choices, key=len, reverse=True):
            if head == choice or head.startswith(f"{choice} "):
                # A word with more after it is part of the comment: "great, and fast too".
                spoken = re.match(rf"^\W*(?:[a-z]+\W*){{{choice.count(' ') + 1}}}", plain)
                more = spoken is not None and plain[spoken.end() :].strip(_SEPARATORS)
                return score, line if more else ""
    return None
