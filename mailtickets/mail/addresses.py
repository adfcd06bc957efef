"""Mail addresses: normalising, plus-addressing, and matching against our own addresses.

One mailbox has one spelling here, however a header wrote it: the domain's case and trailing
dots (`ana@Example.COM.`), a quoted local part that needs no quotes (`"ana"@example.com`)
and comments (removed by the header parsers before) all come to `ana@example.com`, so
contacts, participants and the limits counted per sender apply per real mailbox. The local
part is lowercased too, so that `Ana@` and `ana@` are one contact.
"""

from __future__ import annotations

import re

MAX_ADDRESS = 320
#: A display name is cut here, where it is read and where it is stored.
MAX_NAME = 200

# RFC 5322 dot-atom: what a local part may be without quotes.
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_QUOTED_PAIR = re.compile(r"\\(.)")


def normalise(address: str) -> str:
    """Lowercase, trimmed, without angle brackets, needless quotes or a domain's trailing
    dots: how addresses are compared and stored."""
    text = address.strip().strip("<>").strip().lower()
    local, at, domain = text.rpartition("@")
    if at and not domain.startswith("["):  # an address literal keeps its form
        text = f"{_unquoted(local)}@{domain.rstrip('.')}"
    return text[:MAX_ADDRESS]


def _unquoted(local: str) -> str:
    """`"ana.lima"` → `ana.lima`; a local part that needs its quotes keeps them."""
    if len(local) < 2 or not (local.startswith('"') and local.endswith('"')):
        return local
    bare = _QUOTED_PAIR.sub(r"\1", local[1:-1])
    return bare if _DOT_ATOM.fullmatch(bare) else local


def split_plus(address: str) -> tuple[str, str | None]:
    """`support+tag@acme.example` → (`support@acme.example`, `tag`)."""
    local, at, domain = normalise(address).rpartition("@")
    if not at:
        return normalise(address), None
    base, plus, tag = local.partition("+")
    return f"{base}@{domain}", (tag if plus else None)


def is_valid(address: str) -> bool:
    """Something@somewhere, with no white space or control character anywhere."""
    local, at, domain = address.rpartition("@")
    printable = all(c.isprintable() and not c.isspace() for c in address)
    return bool(at and local and domain and printable)
