"""What one line (or a few) of a reply is: an attribution, a header block, a separator, a tagline.

Each test reads the tables in `words.py`. Every pattern works on one stripped line or on at
most `MAX_ATTRIBUTION_LINES` joined lines capped at `MAX_LINE_CHARS`, so a crafted body cannot
make a pattern backtrack for long.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from mailtickets.mail.quotes import words

MAX_ATTRIBUTION_LINES = 3
MAX_LINE_CHARS = 400
# Outlook's block is five or six lines; a long To: or Cc: list wraps over a few more.
_HEADER_WINDOW = 14
_HEADER_CONTINUATIONS = 3
# A rule line ("_____", "=====") stands at most this many lines above the block it introduces.
_RULE_REACH = 2


def _any(alternatives: Iterable[str]) -> str:
    """One regex alternation, longest first so that "a écrit" wins over "écrit"."""
    return "|".join(sorted(set(alternatives), key=len, reverse=True))


QUOTED = re.compile(r"^\s*>")
# A quoted or listed line starts with "> " or "- "; a closing ">" belongs to an address.
_RIGHT_DECORATION = " \t-–—=_*~#"
_LEFT_DECORATION = _RIGHT_DECORATION + ">"
_RULE = re.compile(r"^\s*(?:[-–—]{5,}|_{5,}|={5,}|\*{5,}|~{5,})\s*$")
_ADDRESS = re.compile(
    r"<[^<>\s]*@[^<>\s]+>|\[mailto:[^\]\s]+\]|\(?\b[\w.+'-]+@[\w-]+(?:\.[\w-]+)+\b\)?"
)
# A date or a time: what tells "On Mon, 2 Nov 2026, Ana wrote:" from "On the other hand,
# Ana wrote:".
_DATE = re.compile(
    r"\d{1,2}[:.h]\d{2}|\d{1,4}[./-]\d{1,2}[./-]\d{1,4}|(?<!\d)(?:19|20)\d{2}(?!\d)|\d{1,2}\s?[月日]"
)
_COLON = r"\s?[:：]"
_SPACE_IN_ADDRESS = re.compile(r"<\s+|(?<!\s)\s+>")
_VERB_AT_END = re.compile(
    rf"^(?P<head>.+?)\s?(?:{_any(v for vs in words.VERBS.values() for v in vs)}){_COLON}$"
)
# "sent" and "said" end ordinary sentences too; they count only after an address.
_WEAK_VERB_AT_END = re.compile(rf"^(?P<head>.+?)\s(?:sent|said){_COLON}$")
_OPENER_VERB_NAME = re.compile(
    rf"^(?:{_any(o for os in words.OPENERS.values() for o in os)})\s.*\d.*\s"
    rf"(?:{_any(words.VERBS_BEFORE_NAME)})\s.+{_COLON}$"
)
_VERB_DATE = re.compile(rf"^(?P<head>.+?)\s(?:{_any(words.VERBS_BEFORE_DATE)})\s.*\d.*{_COLON}$")
_QUOTING = re.compile(rf"^(?:quoting|zitat von|citando|citant|cytuję|citazione di)\s.+{_COLON}$")
# How a wrapped attribution's first line begins: an opener, a date, or a short weekday.
_DATED_START = re.compile(
    rf"^(?:(?:{_any(o for os in words.OPENERS.values() for o in os)})\s|\d|\w{{1,5}}[.,]?\s+\d)"
)
_NAME = re.compile(r"^[\"'(]?[\w.'-]+(?:[\s,]+[\w.'\"()-]+){0,4}$")

_SEPARATOR = re.compile(rf"^(?:{_any(words.SEPARATORS)})[:：]?$")
_FORWARD = re.compile(rf"^(?:{_any(words.FORWARD_MARKERS)})[:：]?$")
_FORWARD_LINE = re.compile(rf"^(?:{_any(map(re.escape, words.FORWARD_LINES))})$")

_HEADER_KINDS = {key: kind for kind, keys in words.HEADER_KEYS.items() for key in keys}
_MARK = r"(?:\*\*|\*|__)?"
_HEADER = re.compile(
    rf"^\s*{_MARK}(?P<key>{_any(map(re.escape, _HEADER_KINDS))}){_MARK}"
    # CJK clients write a full-width colon with no space after it.
    rf"(?:\s*:{_MARK}(?:\s|$)|\s*：)"
)

_DEVICE = re.compile(rf"(?<![a-z0-9])(?:{_any(map(re.escape, words.DEVICES))})(?![a-z0-9])")
_TAGLINE = re.compile(
    rf"^(?:(?:{_any(words.TAGLINE_PREFIXES)})(?:\s|(?=\w)).{{0,70}}"
    rf"|.{{1,50}}(?:{_any(words.TAGLINE_SUFFIXES)}))$"
)
# Outlook writes its tagline with the link to the app: "Get Outlook for iOS<https://aka.ms/…>".
_TRAILING_LINK = re.compile(r"(?<!\s)\s*<https?://[^>]*>\s*$")


def strip_decoration(text: str) -> tuple[str, bool]:
    """`text` without leading "> " / "- " and rule characters; whether two or more stood on the
    right. (str.strip, not a regex: a regex anchored at the end is quadratic on a long rule.)"""
    right = text.rstrip(_RIGHT_DECORATION)
    decorated = len(text) - len(right) >= 2 and bool(text[len(right) :].strip())
    return right.lstrip(_LEFT_DECORATION), decorated


def is_rule(line: str) -> bool:
    """A line of dashes, underscores or equals signs and nothing else."""
    return len(line) <= MAX_LINE_CHARS and bool(_RULE.match(line))


def is_separator(line: str) -> bool:
    """ "-----Original Message-----" and its translations, however decorated."""
    stripped = line.strip()
    core, _ = strip_decoration(stripped)
    return core != stripped and bool(_SEPARATOR.match(core.lower()))


def is_forward(line: str) -> bool:
    """A marker above a forwarded message: "---------- Forwarded message ---------"."""
    if len(line) > MAX_LINE_CHARS:
        return False
    stripped = line.strip()
    if _FORWARD_LINE.match(stripped.lower()):
        return True
    core, _ = strip_decoration(stripped)
    return core != stripped and bool(_FORWARD.match(core.lower()))


def is_tagline(line: str) -> bool:
    """A client's tagline ("Sent from my iPhone", "Von meinem iPhone gesendet")."""
    if len(line) > MAX_LINE_CHARS:
        return False
    text = _TRAILING_LINK.sub("", line.strip()).rstrip(" .!").lower()
    if not text or len(text) > 90:
        return False
    return bool(_TAGLINE.match(text)) and bool(_DEVICE.search(text))


def is_link_tail(line: str) -> bool:
    """Only (the end of) a link: one token with URL characters, maybe closed by ") >"."""
    token = line.strip()
    closed = token.endswith(">")
    token = token.rstrip("> ")
    if not token or len(token) > MAX_LINE_CHARS or any(char.isspace() for char in token):
        return False
    return "://" in token or any(char in token for char in "/=_%&") or (closed and token[-1] == ")")


def header_kind(line: str) -> str | None:
    """What an Outlook header line names ("from", "sent", "subject"…), or None."""
    if len(line) > MAX_LINE_CHARS:
        return None
    match = _HEADER.match(line.lower())
    return _HEADER_KINDS[match["key"]] if match else None


def header_block_end(lines: Sequence[str], index: int) -> int:
    """The index past an Outlook header block starting at `index`, or 0 if none starts there.

    A block starts with From or a date, names at least two things, and names a subject, a
    sending time or an address: a customer's own "From: GRU / To: LIS / Date: 10/12" does
    none of that and stays their text.
    """
    first = header_kind(lines[index])
    if first not in ("from", "sent", "date"):
        return 0
    kinds = {first}
    end, continuations = index + 1, 0
    for position in range(index + 1, min(len(lines), index + _HEADER_WINDOW)):
        line = lines[position]
        kind = header_kind(line)
        if kind in kinds:
            # A key seen already starts the next block (a thread of forwarded headers).
            break
        if kind is not None:
            kinds.add(kind)
            continuations = 0
        elif not line.strip() or continuations >= _HEADER_CONTINUATIONS:
            break
        else:
            continuations += 1
        end = position + 1
    if len(kinds) < 2:
        return 0
    if kinds & {"subject", "sent"} or any(map(_ADDRESS.search, lines[index:end])):
        return end
    return 0


def rule_above_header_block(lines: Sequence[str], index: int) -> bool:
    """A rule line with an Outlook header block right below it (Outlook on the web)."""
    if not is_rule(lines[index]):
        return False
    for position in range(index + 1, min(len(lines), index + 1 + _RULE_REACH + 1)):
        if lines[position].strip():
            return header_block_end(lines, position) > 0 or is_separator(lines[position])
    return False


def attribution_start(lines: Sequence[str], end: int, floor: int) -> int | None:
    """The first line of an attribution that ends on line `end`, or None.

    The shortest attribution wins, so a sentence of the sender's that starts with "On" or "Em"
    right above the attribution stays theirs; it grows upwards only over a line that reads as
    its first half ("Em qua., 4 de nov. de 2026 às 16:45, Ana <").
    """
    found = None
    for start in range(end, max(floor, end - MAX_ATTRIBUTION_LINES + 1) - 1, -1):
        part = lines[start].strip()
        if not part or (start < end and QUOTED.match(part)):
            break
        if found is not None and not _first_half(part):
            break
        joined = " ".join(line.strip() for line in lines[start : end + 1])
        if len(joined) > MAX_LINE_CHARS:
            break
        verdict = _attribution(joined)
        if verdict == "strong" or (verdict == "weak" and _quote_follows(lines, end + 1)):
            found = start
        elif found is not None:
            break
    return found


def _first_half(line: str) -> bool:
    text = line.lower()
    if text.endswith(("<", "(", "[", "mailto:")):
        return True
    return (
        bool(_DATE.search(text))
        and not text.endswith((".", "!", "?"))
        and bool(_DATED_START.match(text))
    )


def _attribution(text: str) -> str | None:
    core, decorated = strip_decoration(text)
    if decorated and not core.endswith((":", "：")):
        # "---- On Thu, 16 May 2024 Ana <a@x> wrote ----" (Zoho) carries no colon.
        core += ":"
    if not core.endswith((":", "：", ">")):
        # Every form below ends so; most lines of a body end otherwise and stop here.
        return None
    # A folded "<\nana@x>" joins as "< ana@x>". The look-behind keeps this linear on long
    # runs of spaces.
    core = _SPACE_IN_ADDRESS.sub(lambda m: m.group().replace(" ", ""), core).lower()
    dated = bool(_DATE.search(core))
    addressed = bool(_ADDRESS.search(core))
    if _OPENER_VERB_NAME.match(core) or (_QUOTING.match(core) and addressed):
        return "strong"
    verb = _VERB_AT_END.match(core)
    if verb:
        head = verb["head"]
        if _DATE.search(head) or _ADDRESS.search(head):
            return "strong"
        return "weak" if len(head) > 2 and _NAME.match(head) else None
    weak_verb = _WEAK_VERB_AT_END.match(core)
    if weak_verb and _ADDRESS.search(weak_verb["head"]):
        return "strong"
    if _VERB_DATE.match(core) and dated:
        return "strong"
    # Gmail in many locales: "2014-03-20 8:48 GMT+01:00 Ana <a@x>:", "чт, 16 мая 2024 г. в
    # 10:00, Ana <a@x>:", "2024年5月16日(木) 10:00 Ana <a@x>:": a date, an address, a colon.
    if dated and addressed and re.search(rf"(?:>|\]|\)|\S@\S+){_COLON}$", core):
        return "strong"
    # Old Gmail wrote "2011/4/7 Ana <a@x>" with no colon at all: only right above "> " lines.
    if dated and re.search(r"^\d.*<[^<>\s]+@[^<>\s]+>$", core):
        return "weak"
    return None


def _quote_follows(lines: Sequence[str], start: int) -> bool:
    for line in lines[start : start + 3]:
        if line.strip():
            return bool(QUOTED.match(line))
    return False
