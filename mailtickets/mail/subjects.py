"""Subjects: the ticket tag `[PREFIX #123]`, reply/forward prefixes in many languages, and
whether two subjects are the same and say anything of what a request is about."""

from __future__ import annotations

import re

from mailtickets.mail.quoted import words

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


def is_reply(subject: str) -> bool:
    """Whether the subject says the message answers another (`Re:`, `RES:`, `AW:`, `SV:`…)."""
    return bool(_PREFIX.match(subject)) and not is_forward(subject)


def subject_key(subject: str) -> str:
    """What two subjects must share to be the same: `clean`ed, its words only, in lower case
    and without accents, since customers retype subjects with or without them."""
    return " ".join(words(clean(subject)))


# Words that say nothing of what a request is about, and the words around them ("I need
# help please", "Preciso de ajuda urgente"): a subject made of these alone is shared by
# many customers' unrelated requests. Written as `subject_key` leaves them (no accents).
_GENERIC_WORDS = """
    help ajuda socorro ayuda aide hilfe question questions pergunta perguntas duvida duvidas
    pregunta consulta query inquiry enquiry problem problems problema problemas issue issues
    urgent urgente urgencia asap important importante support suporte soporte assistance
    assistencia request requests pedido solicitacao solicitud info information informacao
    informacoes hello hi hey hola ola oi bom boa dia tarde noite good morning afternoon
    contact contato contacto test teste no subject sem assunto
"""
_FILLER_WORDS = """
    a an the i we my our me us need needed needs please pls plz with for of on is some
    quick very por favor preciso precisamos precisando de da do um uma o e para com meu
    minha muito estou tenho
"""
_GENERIC = frozenset(_GENERIC_WORDS.split())
_FILLER = frozenset(_FILLER_WORDS.split())


def is_generic(subject: str) -> bool:
    """Whether the subject is one many customers write about unrelated things ("Help",
    "Ajuda", "Dúvida", "Urgent!", none at all): it alone cannot tell their requests apart."""
    return all(word in _GENERIC or word in _FILLER for word in subject_key(subject).split())


def tag(prefix: str, ticket_id: int) -> str:
    return f"[{prefix} #{ticket_id}]"


def tagged(prefix: str, ticket_id: int, subject: str) -> str:
    """The subject of mail we send: the tag, then the ticket's subject."""
    return f"{tag(prefix, ticket_id)} {subject}"[:MAX_SUBJECT]


def ticket_in_tag(prefix: str, subject: str) -> int | None:
    """The ticket number of our tag anywhere in `subject`, or None."""
    match = re.search(rf"\[{re.escape(prefix)}\s*#(\d{{1,12}})\]", subject, re.IGNORECASE)
    return int(match[1]) if match else None
