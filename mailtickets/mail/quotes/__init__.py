"""The new text of a plain-text reply: quoted history, attributions and signatures removed.

This package owns the rules that tell what a customer just wrote apart from what their mail
client appended; `words.py` holds what clients write in each language, `lines.py` recognises
single lines, `signature.py` trims the end. The rules, in order:

1. Forwards keep their payload. A forward marker ("---------- Forwarded message ---------",
   "Begin forwarded message:", and translations) that appears before any reply boundary ends
   the sender's own text but is not history: the marker and everything after it are kept
   verbatim, because the forwarded mail is the point of the message.
2. A reply boundary is one of:
   - an attribution ("On <date>, X wrote:", "Am … schrieb X:", "W dniu … napisał:", "X <a@b>
     于2024年5月16日 10:00写道：", Gmail's "2014-03-20 8:48 GMT+01:00 X <a@b>:", wrapped over
     up to three lines, decorated with "- ", "> " or "---- … ----"); the shortest span ending
     in the attribution's last line wins, so the sender's line above it stays theirs;
   - an Outlook header block (From/Sent/To/Subject in any of the languages in `words.py`,
     bold or not) or a rule line right above one;
   - a separator ("-----Original Message-----", "-------- Oprindelig besked --------", …);
   - a client tagline ("Sent from my iPhone") with the sender's text above it and more below:
     what a phone puts below its tagline is the message being answered.
3. Text above the first boundary is the sender's, kept verbatim ("> " lines there are a pasted
   snippet). Below an attribution, the "> " lines decide: the sender's text after the quote
   (bottom-posting) is kept too; answers interleaved with quoted questions keep the questions,
   because "Windows 11." means nothing without them. Below any other boundary is history.
4. The sender's text loses its signature: everything from a "-- " delimiter, a mailing-list
   footer, trailing and leading taglines, rule lines left behind, and a sign-off line followed
   only by a short name-and-title block. When unsure, the line stays.
5. If all of that leaves nothing, the whole body is returned stripped, so a stored ticket
   message is never empty just because the sender only quoted.

Line endings come back as "\n" whatever the body used.
"""

from __future__ import annotations

from typing import NamedTuple

from mailtickets.mail.quotes import lines as kinds
from mailtickets.mail.quotes.signature import cut_at_delimiter, strip_signature

# Clients wrap quoted text at 72 to 78 columns; a quoted line this long may have been wrapped.
_WRAP_WIDTH = 66


class _Boundary(NamedTuple):
    start: int
    end: int
    # An attribution introduces "> " lines that may be interleaved with answers; the other
    # boundaries introduce unmarked history where nothing after them is new.
    quotes_follow: bool


def new_text(body: str) -> str:
    """Return what the sender wrote in this message, trimmed; never empty for a non-blank body."""
    normalised = body.replace("\r\n", "\n").replace("\r", "\n")
    lines = normalised.split("\n")
    forward_at = _find_forward(lines)
    own, forwarded = lines[:forward_at], lines[forward_at:]
    boundary = _find_boundary(own, 0)
    if boundary is None:
        kept = strip_signature(_unquote(cut_at_delimiter(own)))
    else:
        forwarded = []
        above = strip_signature(own[: boundary.start])
        below = _reply_below(own, boundary)
        kept = [*above, "", *below] if above and below else above or below
    text = "\n".join([*kept, "", *forwarded]).strip()
    return text or normalised.strip()


def _reply_below(lines: list[str], boundary: _Boundary) -> list[str]:
    """What the sender wrote below an attribution's quote: bottom-posted or inline answers."""
    if not boundary.quotes_follow:
        return []
    # Attributions nested inside the quote ("> On … wrote:") belong to it, not to a new part.
    following = _find_boundary(lines, boundary.end, nested=False)
    region = lines[boundary.end : len(lines) if following is None else following.start]
    first = _next_content(region, 0)
    if first == len(region) or not kinds.QUOTED.match(region[first]):
        # An attribution over unmarked text: the quote is not marked, so all of it is history.
        return []
    return strip_signature(_unquote(cut_at_delimiter(region)))


def _find_forward(lines: list[str]) -> int:
    for index, line in enumerate(lines):
        if kinds.is_forward(line):
            return index
    return len(lines)


def _find_boundary(lines: list[str], start: int, *, nested: bool = True) -> _Boundary | None:
    for index in range(start, len(lines)):
        found = _boundary_at(lines, index, start, nested=nested)
        if found is not None:
            return found
    return None


def _boundary_at(lines: list[str], index: int, floor: int, *, nested: bool) -> _Boundary | None:
    line = lines[index]
    if not line.strip() or len(line) > kinds.MAX_LINE_CHARS:
        return None
    if kinds.QUOTED.match(line):
        # iOS quotes its own attribution ("> On … wrote:"); only the first line of a quote
        # can be one, deeper ones are older history inside it.
        previous = _previous_content(lines, index, floor)
        if not nested or (previous is not None and kinds.QUOTED.match(lines[previous])):
            return None
    else:
        if kinds.is_separator(line) or kinds.rule_above_header_block(lines, index):
            return _Boundary(index, index + 1, quotes_follow=False)
        if kinds.header_block_end(lines, index):
            return _Boundary(index, index + 1, quotes_follow=False)
        if kinds.is_tagline(line) and _has_content(lines[floor:index]):
            following = _next_content(lines, index + 1)
            if following < len(lines):
                return _Boundary(index, index + 1, quotes_follow=False)
    start = kinds.attribution_start(lines, index, floor)
    if start is not None:
        return _Boundary(start, index + 1, quotes_follow=True)
    return None


def _unquote(lines: list[str]) -> list[str]:
    """Drop "> " history around the sender's text, keep it where answers are interleaved."""
    quoted = [bool(kinds.QUOTED.match(line)) for line in lines]
    for index in range(len(lines)):
        if not quoted[index] and (
            _is_link_debris(lines, index, quoted) or _is_wrapped_quote(lines, index, quoted)
        ):
            quoted[index] = True
    own = [i for i, line in enumerate(lines) if line.strip() and not quoted[i]]
    if not own:
        return []
    first_own, last_own = own[0], own[-1]
    interleaved = any(quoted[first_own:last_own])
    if not interleaved:
        return lines[first_own : last_own + 1]
    return lines[_next_content(lines, 0) : last_own + 1]


def _is_link_debris(lines: list[str], index: int, quoted: list[bool]) -> bool:
    """The wrapped tail of a quoted link ("_nonce=3dd518)") that lost its "> " on the way."""
    if not kinds.is_link_tail(lines[index]):
        return False
    before = _previous_content(lines, index, 0)
    after = _next_content(lines, index + 1)
    return before is not None and quoted[before] and after < len(lines) and quoted[after]


def _is_wrapped_quote(lines: list[str], index: int, quoted: list[bool]) -> bool:
    """The rest of a long quoted line that a client wrapped without repeating its "> "."""
    text = lines[index].strip()
    if index == 0 or not quoted[index - 1] or not text[:1].islower():
        return False
    if len(lines[index - 1].rstrip()) < _WRAP_WIDTH:
        return False
    return index + 1 == len(lines) or quoted[index + 1] or not lines[index + 1].strip()


def _previous_content(lines: list[str], index: int, floor: int) -> int | None:
    for position in range(index - 1, floor - 1, -1):
        if lines[position].strip():
            return position
    return None


def _next_content(lines: list[str], start: int) -> int:
    for index in range(start, len(lines)):
        if lines[index].strip():
            return index
    return len(lines)


def _has_content(lines: list[str]) -> bool:
    return any(line.strip() for line in lines)
