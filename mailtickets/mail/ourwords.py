"""Our own words in an agent's reply: the notice we sent them, however their client quoted it.

An agent answers a notice by replying to it, and their mail client quotes the notice: the
customer's text, the commands, the customer's other tickets. None of that may reach the
customer, and general quote stripping cannot be relied on for it (Outlook's
"-----Original Message-----" style, an HTML reply turned into text). But we know the exact
text of every mail we sent, so we look for it.

A client marks the quote with "> ", re-wraps its lines or turns its HTML into text; none of
that changes its words. So the reply and our mail are compared as words (lower-cased,
without accents or punctuation) in runs of RUN words in a row. The part of the reply where
such runs stand close together (at most MAX_GAP other words apart) and cover at least
MIN_SHARE of one of our mails is that mail, quoted. It is cut out with the introduction the
client wrote above it: the nearest line within INTRO_LINES above that names us (our address
or name) and is a header line ("From: Support <support@…>") or ends an attribution ("On …,
Support wrote:"), and a rule or "-----Original Message-----" just above that. What stays
is the agent's own: the text above, and any text below that is not quoted ("> ").

A sentence the agent repeats from our mail is far below MIN_SHARE of it, so it stays. An
answer written inside the quoted notice goes with the quote: a leak of our words is worse.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

#: Words in a row that make one comparable run.
RUN = 5
#: The share of one of our mails that must stand in the reply for it to count as quoted.
MIN_SHARE = 0.5
#: Other words allowed between two runs of one quote (a link the client expanded, a
#: "[cid:image001.png]" it inserted).
MAX_GAP = 12
#: How far above our words the client's introduction may start, in non-blank lines.
INTRO_LINES = 10
#: The start of a reply that is compared: a quote follows the agent's text, which is short.
MAX_CHARS = 200_000

_WORD = re.compile(r"\w+")
_ACCENTS = re.compile("[\u0300-\u036f]")
_QUOTED = re.compile(r"^\s*>")
_HEADER = re.compile(r"^[\s>*]*[^\W\d_][\w .'-]{0,30}\*?:")
#: The words that open an attribution ("On …", "Em …", "Am …"), with a date in the line.
_OPENER = re.compile(r"^[\s>]*(?:On|Em|Am|El|Le|Il|Op|Den|På)\s.*\d", re.IGNORECASE)
#: Lines an attribution is wrapped over at most.
_WRAPPED_LINES = 3
_RULE = re.compile(r"^[\s>*]*(?:-{2,}.*-{2,}|_{5,}|={5,})\s*$")
_SIGNATURE = re.compile(r"^--\s?$")


@dataclass(frozen=True)
class _Found:
    first_line: int
    last_line: int
    covered: int


def words(text: str) -> list[str]:
    """The words of `text`, lower-cased, without accents or punctuation."""
    plain = _ACCENTS.sub("", unicodedata.normalize("NFKD", text.casefold()))
    return _WORD.findall(plain)


def without_our_words(body: str, ours: Iterable[str], names: Sequence[str]) -> str | None:
    """`body` without the one of `ours` (the texts of mail we sent) that it quotes, and the
    client's introduction to it; None when it quotes none of them. `names` are how an
    introduction names us: our address (any plus form) and display name."""
    lines = body[:MAX_CHARS].replace("\r\n", "\n").replace("\r", "\n").split("\n")
    positions = [(word, index) for index, line in enumerate(lines) for word in words(line)]
    mentions = [re.compile(rf"(?<![\w.+-]){_pattern(n)}(?![\w-])", re.IGNORECASE) for n in names]
    # A quote's introduction ends whatever came before: words the agent repeated from our
    # mail above it are theirs, however close.
    breaks = {
        i
        for i, line in enumerate(lines)
        if any(m.search(line) for m in mentions)
        and (_HEADER.match(line) or line.rstrip().endswith(":"))
    }
    found = max(
        (f for f in (_find(positions, words(text), breaks) for text in ours) if f is not None),
        key=lambda f: f.covered,
        default=None,
    )
    if found is None:
        return None
    start = _introduction(lines, found.first_line, mentions)
    after = [line for line in lines[found.last_line + 1 :] if not _QUOTED.match(line)]
    return "\n".join([*lines[:start], *after])


def has_words(text: str) -> bool:
    """Whether `text` says anything above a signature delimiter ("-- ")."""
    for line in text.split("\n"):
        if _SIGNATURE.match(line):
            return False
        if words(line):
            return True
    return False


def _find(positions: list[tuple[str, int]], mail: list[str], breaks: set[int]) -> _Found | None:
    """Where the reply quotes `mail`: the largest cluster of shared runs, if it is enough;
    no cluster reaches across a line of `breaks`."""
    if len(mail) < RUN:
        return None
    runs = {tuple(mail[i : i + RUN]) for i in range(len(mail) - RUN + 1)}
    reply = [word for word, _ in positions]
    covered = [False] * len(reply)
    for i in range(len(reply) - RUN + 1):
        if tuple(reply[i : i + RUN]) in runs:
            covered[i : i + RUN] = [True] * RUN
    best: tuple[int, int, int] | None = None  # first word, last word, words covered
    current: tuple[int, int, int] | None = None
    for i, is_ours in enumerate(covered):
        if not is_ours:
            continue
        if current is not None and _joins(positions, current[1], i, breaks):
            current = (current[0], i, current[2] + 1)
        else:
            current = (i, i, 1)
        if best is None or current[2] > best[2]:
            best = current
    if best is None or best[2] < MIN_SHARE * len(mail):
        return None
    return _Found(positions[best[0]][1], positions[best[1]][1], best[2])


def _joins(positions: list[tuple[str, int]], last: int, word: int, breaks: set[int]) -> bool:
    """Whether covered word `word` continues the cluster whose last covered word is `last`."""
    if word - last - 1 > MAX_GAP:
        return False
    lines = range(positions[last][1] + 1, positions[word][1] + 1)
    return not any(line in breaks for line in lines)


def _introduction(lines: list[str], first: int, mentions: Sequence[re.Pattern[str]]) -> int:
    """The first line of the client's introduction to the quote starting at line `first`
    (`first` itself when there is none)."""
    seen = 0
    for index in range(first - 1, -1, -1):
        line = lines[index]
        if not words(line):
            continue
        seen += 1
        if seen > INTRO_LINES:
            break
        if not any(m.search(line) for m in mentions):
            continue
        if _HEADER.match(line):
            # Outlook's block: From: names us, Sent:, To: and Subject: follow it.
            while index > 0 and _HEADER.match(lines[index - 1]):
                index -= 1
            return _rule_above(lines, index)
        if " ".join(part.strip(" >") for part in lines[index:first]).rstrip().endswith(":"):
            return _rule_above(lines, _attribution_start(lines, index))
    return first


def _attribution_start(lines: list[str], index: int) -> int:
    """Where an attribution that names us on line `index` starts: clients wrap a long one,
    and its first line ("On Mon, 2 Nov 2026 at 10:00 Support <") may not name us whole."""
    for above in range(index - 1, max(index - _WRAPPED_LINES, -1), -1):
        if not lines[above].strip():
            break
        if _OPENER.match(lines[above]):
            return above
    return index


def _rule_above(lines: list[str], index: int) -> int:
    """`index`, or the rule line ("-----Original Message-----") just above it."""
    above = index - 1
    while above >= 0 and not lines[above].strip():
        above -= 1
    return above if above >= 0 and _RULE.match(lines[above]) else index


def _pattern(name: str) -> str:
    """An address matches its plus forms too (support+token@…); a name matches as words."""
    local, at, domain = name.partition("@")
    if at:
        return rf"{re.escape(local)}(?:\+[^@\s<>]*)?@{re.escape(domain)}"
    return r"\s+".join(re.escape(part) for part in name.split())
