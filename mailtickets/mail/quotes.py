"""The new text of a plain-text reply: quoted history, attributions and signatures removed.

This module owns the rules that tell what a customer just wrote apart from what their mail
client appended. The rules, in order:

1. Forwards keep their payload. A forward marker ("---------- Forwarded message ---------",
   "---------- Mensagem encaminhada ---------", "-------- Forwarded Message --------",
   "Begin forwarded message:", "Início da mensagem encaminhada:") that appears before any reply
   boundary ends the sender's own text but is not history: the marker and everything after it
   are kept verbatim, because the forwarded mail is the point of the message. A marker that
   appears only after a reply boundary is part of the quoted history and goes with it.
2. A reply boundary is an attribution line ("On <date>, X wrote:", "Em <data>, X escreveu:",
   "Am ... schrieb X:", "El ... escribió:", "Le ... a écrit :", wrapped over up to three lines),
   an "-----Original Message-----" / "-----Mensagem original-----" separator, an Outlook web
   underscore rule followed by headers, or a bare "From:/De:" header block (at least two more
   header lines such as Sent:, Enviada em:, Enviado:, Data:, To:, Para:, Subject:, Assunto:).
3. Text above the first boundary is the new text, kept verbatim: "> " lines there are the
   sender's own (a pasted snippet), since the real quote starts below.
4. When nothing but a boundary precedes the quote (bottom-posting, inline answers), the "> "
   lines decide: quote lines only before or only after the sender's text are dropped; quote
   lines interleaved with the sender's text are kept, minus the attribution line and the
   quoted tail, because inline answers ("Windows 11.") mean nothing without their questions.
5. Signatures: everything from a "-- " delimiter line is dropped, and so is a trailing mobile
   tagline ("Sent from my iPhone", "Enviado do meu Android", "Get Outlook for iOS", ...).
   Sign-offs such as "Thanks,\\nAna" and undelimited corporate signatures are kept: they
   cannot be told from short final sentences without guessing, and losing a customer's last
   line is worse than keeping their name.
6. If all of that leaves nothing, the whole body is returned stripped, so a stored ticket
   message is never empty just because the sender only quoted.

Line endings come back as "\n" whatever the body used.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_WROTE = r"(?:wrote|escreveu|schrieb|escribió|a écrit|ha scritto|schreef|skrev)"
_OPENER = r"(?:On|Em|Am|El|Le|Il|Op|Den|På)"

# Wrapped attributions are rare beyond three lines; bounding the join keeps the scan linear.
_MAX_ATTRIBUTION_LINES = 3
_MAX_ATTRIBUTION_CHARS = 400
# Outlook puts From: first and the other headers right below it; a long To: or Cc: list
# wraps and pushes Subject: a few lines further down.
_HEADER_LOOKAHEAD = 8
_MIN_HEADERS_AFTER_FROM = 2

_ATTRIBUTION_START = re.compile(rf"^{_OPENER}\s", re.IGNORECASE)
# A date or time in the line is what separates "On Mon, 2 Nov ... wrote:" from prose such
# as "On the other hand, Bob wrote:".
_ATTRIBUTION_PATTERNS = (
    re.compile(rf"^{_OPENER}\s(?=.*\d).*\s{_WROTE}\s?:$", re.IGNORECASE),
    re.compile(r"^Am\s(?=.*\d).*\sschrieb\s.+:$", re.IGNORECASE),
    re.compile(rf"^\S.*@[^\s>]++>?\)?\s{_WROTE}\s?:$", re.IGNORECASE),
)
_ORIGINAL_MESSAGE = re.compile(
    r"^-{2,}\s*(?:original message|mensagem original|mensaje original|message d'origine"
    r"|ursprüngliche nachricht)\s*-{2,}$",
    re.IGNORECASE,
)
_UNDERSCORE_RULE = re.compile(r"^_{10,}$")
_HEADER_LINE = re.compile(
    r"^\*?(?P<key>from|de|von|da|sent|enviada em|enviado|enviado el|date|data|datum|fecha"
    r"|gesendet|envoyé|to|para|an|à|cc|subject|assunto|asunto|betreff|objet|oggetto)\*?\s*:"
    r"\*?(?:\s|$)",
    re.IGNORECASE,
)
_FROM_KEYS = frozenset({"from", "de", "von", "da"})
# Every client's quoted header block names the subject; a customer's own "From: GRU /
# To: LIS / Date: ..." itinerary does not, and must not be cut away as history.
_SUBJECT_KEYS = frozenset({"subject", "assunto", "asunto", "betreff", "objet", "oggetto"})
_FORWARD_MARKER = re.compile(
    r"^(?:-{3,}\s*(?:forwarded message|mensagem encaminhada|mensaje reenviado"
    r"|message transféré|weitergeleitete nachricht)\s*-{3,}"
    r"|begin forwarded message:|início da mensagem encaminhada:"
    r"|inicio del mensaje reenviado:)$",
    re.IGNORECASE,
)
_SIGNATURE_DELIMITER = re.compile(r"^--\s?$")
_MOBILE_TAGLINE = re.compile(
    r"^(?:sent from|enviad[oa] d[oe]|enviado desde|get outlook for|obter o outlook para"
    r"|envoyé de|von meinem)\b.{1,60}$",
    re.IGNORECASE,
)
_QUOTED_LINE = re.compile(r"^\s*>")


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
        kept = _strip_signature(_unquote(_cut_at_delimiter(own)))
    elif _has_content(own[: boundary.start]):
        kept = _strip_signature(own[: boundary.start])
        forwarded = []
    else:
        kept = _reply_below_boundary(own, boundary)
        forwarded = []
    text = "\n".join([*kept, "", *forwarded]).strip()
    return text or normalised.strip()


def _reply_below_boundary(lines: list[str], boundary: _Boundary) -> list[str]:
    if not boundary.quotes_follow:
        return []
    following = _find_boundary(lines, boundary.end)
    stop = len(lines) if following is None else following.start
    return _strip_signature(_unquote(_cut_at_delimiter(lines[boundary.end : stop])))


def _find_forward(lines: list[str]) -> int:
    for index, line in enumerate(lines):
        if _FORWARD_MARKER.match(line.strip()):
            return index
    return len(lines)


def _find_boundary(lines: list[str], start: int) -> _Boundary | None:
    for index in range(start, len(lines)):
        found = _boundary_at(lines, index)
        if found is not None:
            return found
    return None


def _boundary_at(lines: list[str], index: int) -> _Boundary | None:
    line = lines[index].strip()
    if not line or _QUOTED_LINE.match(line):
        return None
    if _ORIGINAL_MESSAGE.match(line):
        return _Boundary(index, index + 1, quotes_follow=False)
    if _UNDERSCORE_RULE.match(line) and _is_header_block(lines, _next_content(lines, index + 1)):
        return _Boundary(index, index + 1, quotes_follow=False)
    if _is_header_block(lines, index):
        return _Boundary(index, index + 1, quotes_follow=False)
    span = _attribution_span(lines, index)
    if span:
        return _Boundary(index, index + span, quotes_follow=True)
    return None


def _next_content(lines: list[str], start: int) -> int:
    for index in range(start, len(lines)):
        if lines[index].strip():
            return index
    return len(lines)


def _is_header_block(lines: list[str], index: int) -> bool:
    if index >= len(lines):
        return False
    first = _HEADER_LINE.match(lines[index].strip())
    if first is None or first["key"].lower() not in _FROM_KEYS:
        return False
    window = lines[index + 1 : index + 1 + _HEADER_LOOKAHEAD]
    keys = [m["key"].lower() for m in map(_HEADER_LINE.match, map(str.strip, window)) if m]
    return len(keys) >= _MIN_HEADERS_AFTER_FROM and not _SUBJECT_KEYS.isdisjoint(keys)


def _attribution_span(lines: list[str], index: int) -> int:
    """Number of lines (0 for none) that form an attribution starting at `index`."""
    first = lines[index].strip()
    # Real attributions are short; a long line full of "@" would make the patterns below
    # backtrack for seconds (a crafted body is cheap to send).
    if len(first) > _MAX_ATTRIBUTION_CHARS:
        return 0
    if not _ATTRIBUTION_START.match(first) and "@" not in first:
        return 0
    parts: list[str] = []
    for offset in range(_MAX_ATTRIBUTION_LINES):
        if index + offset >= len(lines):
            break
        part = lines[index + offset].strip()
        # A blank line or a quote mark ends the attribution: wraps never contain those.
        if not part or _QUOTED_LINE.match(part):
            break
        parts.append(part)
        joined = " ".join(parts)
        if len(joined) > _MAX_ATTRIBUTION_CHARS:
            break
        if any(pattern.match(joined) for pattern in _ATTRIBUTION_PATTERNS):
            return offset + 1
    return 0


def _cut_at_delimiter(lines: list[str]) -> list[str]:
    for index, line in enumerate(lines):
        if _SIGNATURE_DELIMITER.match(line):
            return lines[:index]
    return lines


def _strip_signature(lines: list[str]) -> list[str]:
    kept = _trim_trailing_blank(_cut_at_delimiter(lines))
    if kept and _MOBILE_TAGLINE.match(kept[-1].strip()):
        kept = _trim_trailing_blank(kept[:-1])
    return kept


def _unquote(lines: list[str]) -> list[str]:
    """Drop "> " history around the sender's text, keep it where answers are interleaved."""
    own = [i for i, line in enumerate(lines) if line.strip() and not _QUOTED_LINE.match(line)]
    if not own:
        return []
    first_own, last_own = own[0], own[-1]
    interleaved = any(_QUOTED_LINE.match(line) for line in lines[first_own:last_own])
    if not interleaved:
        return lines[first_own : last_own + 1]
    first_text = _next_content(lines, 0)
    return lines[first_text : last_own + 1]


def _has_content(lines: list[str]) -> bool:
    return any(line.strip() for line in lines)


def _trim_trailing_blank(lines: list[str]) -> list[str]:
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    return lines[:end]
