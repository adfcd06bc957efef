"""Mail addresses: normalising, plus-addressing, and matching against our own addresses."""

from __future__ import annotations

MAX_ADDRESS = 320


def normalise(address: str) -> str:
    """Lowercase, trimmed, without angle brackets: how addresses are compared and stored."""
    return address.strip().strip("<>").strip().lower()[:MAX_ADDRESS]


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
