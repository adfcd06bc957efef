"""The language a customer writes in: their Content-Language, else what their text is in.

Detection is py3langid's (langid.py's model; numpy only; 4.5 MB; about 0.3 ms a message; mapped
from a cache file by `langmodel`, not loaded whole). lingua-language-detector was as accurate on
support mail (56 of 56 sentences in seven languages each; 22 and 21 of 24 one-line replies) but
its models take 96 MB on disk and 0.7 to 1.3 GB of memory, too much for a daemon on a small
host. Text too short or too mixed to tell gives None, and the queue's language applies.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from py3langid.langid import MODEL_FILE, LanguageIdentifier

from mailtickets.mail import langmodel

log = logging.getLogger(__name__)

#: Below this many letters a guess is a coin toss ("Help" reads as Dutch, "Ajuda" as Uzbek).
MIN_LETTERS = 15
#: The detector's probability for its best language, below which we do not guess.
MIN_CONFIDENCE = 0.7
_SAMPLE = 2000


@functools.cache
def _identifier() -> Any:
    try:
        return langmodel.identifier(_cache())
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        log.warning("language model not mapped from a cache file (%s); loading it whole", exc)
        return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _cache() -> Path:
    """Where the unpacked model is kept: the user's cache folder, as XDG says."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mailtickets"


def detect(text: str) -> str | None:
    """The ISO 639-1 code of the language `text` is written in, or None when unsure."""
    sample = " ".join(text.split())[:_SAMPLE]
    if sum(c.isalpha() for c in sample) < MIN_LETTERS:
        return None
    language, confidence = _identifier().classify(sample)
    return str(language) if confidence >= MIN_CONFIDENCE else None


def from_header(value: str | None) -> str | None:
    """The first language tag of a Content-Language header (RFC 3282), lowercased."""
    first = (value or "").split(",")[0].strip().lower()
    return first or None


def locale_for(language: str, locales: Iterable[str]) -> str | None:
    """Which of our `locales` ("en", "pt_BR") serves `language` ("pt", "pt-br", "en-GB"):
    the same tag, else the language alone, else one of its regions; None when none does."""
    tag = language.lower().replace("_", "-")
    primary = tag.split("-")[0]
    by_tag = {locale.lower().replace("_", "-"): locale for locale in locales}
    if tag in by_tag:
        return by_tag[tag]
    if primary in by_tag:
        return by_tag[primary]
    regional = sorted(t for t in by_tag if t.split("-")[0] == primary)
    return by_tag[regional[0]] if regional else None
