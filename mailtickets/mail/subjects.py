"""Subjects: the ticket tag `[PREFIX #123]` and reply/forward prefixes in many languages."""

from __future__ import annotations

import re

MAX_SUBJECT = 998

# Re/Fwd in English, Portuguese (RES, ENC, RE), German (AW, WG), Nordic (SV, VS), French (TR),
# Spanish (RV), Dutch (Antw, Doorst), plus the numbered forms some clients write (Re[2]:).
_PREFIX = re.compile(
    r"^\s*(?:re|fw|fwd|res|enc|aw|wg|sv|vs|tr|rv|antw|doorst|ref|r)(?:\s*\[\d+\]|\s*\(\d+\))?"
    r"\s*[:\uff1a]\s*",  # CJK clients write a full-width colon
    re.IGNORECASE,
)


def clean(subject: str) -> str:
    """`RES: Fwd: Re: Printer` → `Printer`; the tag is removed too."""
    text = " ".join(subject.split())
    while True:
        stripped = _PREFIX.sub("", text, count=1)
        stripped = _TAG_ANY.sub("", stripped, count=1).strip()
        if stripped == text:
            return text[:MAX_SUBJECT]
        text = stripped


_TAG_ANY = re.compile(r"^\[[^\]#]{1,40}#\d{1,12}\]\s*")


_FORWARD = re.compile(r"^\s*(?:fw|fwd|enc|wg|tr|rv|doorst)\s*[:\uff1a]", re.IGNORECASE)


def is_forward(subject: str) -> bool:
    """Whether the subject says the message forwards another (its quoted part is the point)."""
    return bool(_FORWARD.match(subject))


def tag(prefix: str, ticket_id: int) -> str:
    return f"[{prefix} #{ticket_id}]"


def tagged(prefix: str, ticket_id: int, subject: str) -> str:
    """The subject of mail we send: the tag, then the ticket's subject."""
    return f"{tag(prefix, ticket_id)} {subject}"[:MAX_SUBJECT]


def ticket_in_tag(prefix: str, subject: str) -> int | None:
    """The ticket number of our tag anywhere in `subject`, or None."""
    match = re.search(rf"\[{re.escape(prefix)}\s*#(\d{{1,12}})\]", subject, re.IGNORECASE)
    return int(match[1]) if match else None
