"""The end of what the sender wrote: signature blocks, taglines, sign-offs and list footers.

A sign-off ("Regards,", "Atenciosamente,", "Med venlig hilsen") goes only when it stands alone
on its line and nothing but a few short lines (a name, a title, a company, a phone number)
follows it: "Thanks for the quick fix!" or "Regards, Roman" on one line are the sender's words
and stay.
"""

from __future__ import annotations

import re
import unicodedata

from mailtickets.mail.quotes import words
from mailtickets.mail.quotes.lines import QUOTED, is_rule, is_tagline

_DELIMITER = re.compile(r"^--\s?$")


def _fold(text: str) -> str:
    """Lower case without accents: people type "Udvozlettel" and "Mit freundlichen Grussen"."""
    decomposed = unicodedata.normalize("NFKD", text.lower()).replace("ß", "ss")
    return "".join(char for char in decomposed if not unicodedata.combining(char))


_SIGN_OFF_WORDS = sorted(
    {_fold(w) for ws in words.SIGN_OFFS.values() for w in ws}, key=len, reverse=True
)
# Punctuation or an emoji may follow the sign-off ("Cheers 🎉"), a word may not.
_SIGN_OFF = re.compile(rf"^(?:{'|'.join(map(re.escape, _SIGN_OFF_WORDS))})\W*$")
_FOOTER = re.compile("|".join(words.LIST_FOOTERS))
# A signature below a sign-off is a name, a title, a company, a phone or a link: a few short
# lines. Anything longer is the sender still writing.
_SIGNATURE_LINES = 6
_SIGNATURE_WORDS = 8
_SIGNATURE_CHARS = 70
_CONTACT = re.compile(r"https?://|www\.|@|\+?\d[\d\s().-]{6,}")
# Mailing-list footers are a rule and a few lines naming the list.
_FOOTER_LINES = 8


def cut_at_delimiter(lines: list[str]) -> list[str]:
    """Everything above the first "-- " signature delimiter."""
    for index, line in enumerate(lines):
        if _DELIMITER.match(line):
            return lines[:index]
    return lines


def strip_signature(lines: list[str]) -> list[str]:
    """`lines` without signature, trailing taglines, sign-off block, list footer and rules."""
    kept = _trim_end(_cut_list_footer(cut_at_delimiter(lines)))
    kept = _trim_end(_cut_ruled_signature(kept))
    kept = _trim_end(_cut_sign_off(kept))
    return _drop_leading_taglines(kept)


def _trim_end(lines: list[str]) -> list[str]:
    """Without trailing blank lines, taglines and rule lines left behind by a cut."""
    end = len(lines)
    while end and (not lines[end - 1].strip() or _is_tail_debris(lines[end - 1])):
        end -= 1
    return lines[:end]


def _is_tail_debris(line: str) -> bool:
    return is_tagline(line) or is_rule(line) or bool(_DELIMITER.match(line))


def _drop_leading_taglines(lines: list[str]) -> list[str]:
    start = 0
    while start < len(lines) and (not lines[start].strip() or is_tagline(lines[start])):
        start += 1
    return lines[start:] if any(line.strip() for line in lines[start:]) else lines


def _cut_list_footer(lines: list[str]) -> list[str]:
    first = max(0, len(lines) - _FOOTER_LINES)
    for index in range(first, len(lines)):
        # GitHub and Discourse open their footer with a lone em dash.
        if not (is_rule(lines[index]) or lines[index].strip() == "—"):
            continue
        if any(_FOOTER.search(line.lower()) for line in lines[index + 1 :]):
            return lines[:index]
    return lines


def _cut_ruled_signature(lines: list[str]) -> list[str]:
    """A rule line ("—————", "_____") with only a name-and-title block below it."""
    content = [index for index, line in enumerate(lines) if line.strip()]
    for position in range(len(content) - 2, max(0, len(content) - 2 - _SIGNATURE_LINES), -1):
        index = content[position]
        if is_rule(lines[index]):
            tail = [lines[i] for i in content[position + 1 :]]
            return lines[:index] if all(map(_is_signature_line, tail)) else lines
    return lines


def _cut_sign_off(lines: list[str]) -> list[str]:
    content = [index for index, line in enumerate(lines) if line.strip()]
    for position in range(len(content) - 2, max(-1, len(content) - 2 - _SIGNATURE_LINES), -1):
        index = content[position]
        if not _SIGN_OFF.match(_fold(lines[index].strip())):
            continue
        tail = [lines[i] for i in content[position + 1 :]]
        if position > 0 and all(map(_is_signature_line, tail)):
            return lines[:index]
        return lines
    return lines


def _is_signature_line(line: str) -> bool:
    text = line.strip()
    if QUOTED.match(text) or text.endswith(("?", ":")):
        return False
    if _CONTACT.search(text):
        return len(text) <= 2 * _SIGNATURE_CHARS
    return len(text) <= _SIGNATURE_CHARS and len(text.split()) <= _SIGNATURE_WORDS
