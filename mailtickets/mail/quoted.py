"""What a reply quotes, and whether it quotes a given message: evidence for threading a reply
that carries no reference to its ticket.

The quoted part is what `quotes.new_text` left out of the body, plus the body's "> " lines
(inline answers keep some in the new text). It is compared as runs of words, lower-cased and
without accents or punctuation, so the "> " marks of every nesting level, rewrapped lines and
a changed charset of the quoting client do not matter; a signature left out of the new text
is in the quoted part too, but repeats no message of a ticket.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

#: Words in a row that make one comparable run (a shingle).
RUN = 4
#: Runs a quote must share with a message to quote it: five words in a row, or more.
MIN_SHARED_RUNS = 2
#: A message shorter than one comparable run ("Please restart it.") counts as quoted when all
#: its words stand in the quote in order, but only from this many words on.
MIN_SHORT_WORDS = 3
#: The part of a long quote, and of a long message, that is compared: a quote starts with
#: the newest message, and one that repeats a message repeats its beginning.
MAX_CHARS = 20_000

#: Lines at the top of a quote where its attribution or header block gives the quoted mail's
#: time ("On 2 Nov 2026, at 12:47, Ana wrote:", "Sent: 02/11/2026 12:47").
ATTRIBUTION_LINES = 6

_QUOTED_LINE = re.compile(r"^\s*>")
_TIME = re.compile(r"(?<!\d)\d{1,2}[:h](\d{2})(?!\d)")
_WORD = re.compile(r"\w+")
# The combining marks NFKD splits off Latin letters (ã → a + ◌̃); other scripts keep theirs.
_ACCENTS = re.compile("[\u0300-\u036f]")


def words(text: str) -> tuple[str, ...]:
    """The words of `text`, lower-cased, without accents or punctuation."""
    plain = _ACCENTS.sub("", unicodedata.normalize("NFKD", text.casefold()))
    return tuple(_WORD.findall(plain))


def _runs_of(sequence: tuple[str, ...]) -> set[tuple[str, ...]]:
    return {sequence[i : i + RUN] for i in range(len(sequence) - RUN + 1)}


def _contains(sequence: tuple[str, ...], part: tuple[str, ...]) -> bool:
    """Whether `part` stands in `sequence`, its words in a row."""
    return any(
        sequence[i : i + len(part)] == part for i, word in enumerate(sequence) if word == part[0]
    )


@dataclass(frozen=True)
class Quote:
    """The quoted part of one message."""

    text: str
    #: Whether the body has "> " lines: the mark every client puts on quoted plain text,
    #: which a signature or a tagline never carries.
    marked: bool

    @classmethod
    def of(cls, body: str, new_text: str) -> Quote:
        """The part of `body` that its new text `new_text` does not hold, and its "> " lines."""
        lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        own = Counter(line.strip() for line in new_text.split("\n"))
        quoted: list[str] = []
        marked = False
        for line in lines:
            stripped = line.strip()
            if _QUOTED_LINE.match(stripped):
                marked = True
                quoted.append(stripped)
            elif own[stripped] > 0:
                own[stripped] -= 1
            elif stripped:
                quoted.append(stripped)
        return cls("\n".join(quoted), marked)

    def repeats(self, message_text: str) -> int:
        """How strongly the quote repeats `message_text`: the word runs they share, 0 when it
        does not quote it (see MIN_SHARED_RUNS and MIN_SHORT_WORDS)."""
        original = words(message_text[:MAX_CHARS])
        if len(original) < RUN + MIN_SHARED_RUNS - 1:
            whole = len(original) >= MIN_SHORT_WORDS and _contains(self._words, original)
            return MIN_SHARED_RUNS if whole else 0
        shared = len(self._runs & _runs_of(original))
        return shared if shared >= MIN_SHARED_RUNS else 0

    def dates(self, when: datetime | None) -> bool:
        """Whether the quote's attribution or header block gives the minute of `when`, the
        time of a message it repeats. The quoting client shows that time in its own zone and
        format, so only the minute is compared: enough to tell apart two messages whose text
        is the same ("Thanks, it still fails.")."""
        top = "\n".join(self.text.split("\n")[:ATTRIBUTION_LINES])
        return when is not None and any(int(m) == when.minute for m in _TIME.findall(top))

    def names_ticket(self, ticket_id: int) -> bool:
        """Whether the quote carries `#<ticket_id>`: our subject tag in a quoted header block,
        or the number our acknowledgement and notices give the customer."""
        return re.search(rf"(?<![\w#])#{ticket_id}(?!\d)", self.text) is not None

    @cached_property
    def _words(self) -> tuple[str, ...]:
        return words(self.text[:MAX_CHARS])

    @cached_property
    def _runs(self) -> set[tuple[str, ...]]:
        return _runs_of(self._words)
