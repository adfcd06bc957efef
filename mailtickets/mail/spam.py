"""Spam verdicts that need no database: the MTA's stamp and the sender block and allow lists.

SpamAssassin writes `X-Spam-Flag: YES` and `X-Spam-Status: Yes, score=…`; rspamd writes
`X-Spam: Yes` (and the SpamAssassin headers when asked to). A "no" is never believed over our
own lists; only a "yes" counts, so a sender gains nothing by writing these headers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from mailtickets.mail.parse import ParsedMail

_FLAGS = ("X-Spam-Flag", "X-Spam-Status", "X-Spam")


def mta_verdict(mail: ParsedMail) -> str | None:
    """The header that says the MTA found spam (`X-Spam-Flag: YES`), or None."""
    for name in _FLAGS:
        for value in mail.headers(name):
            if value.strip().lower().startswith("yes"):
                return f"{name}: {value.strip()[:80]}"
    return None


def listed(addresses: Iterable[str], entries: Sequence[str]) -> str | None:
    """The entry (an address, or a domain covering its subdomains) naming one of `addresses`."""
    for address in addresses:
        address = address.lower()
        domain = address.rpartition("@")[2]
        for entry in entries:
            entry = entry.lower()
            if "@" in entry:
                if address == entry:
                    return entry
            elif domain == entry or domain.endswith(f".{entry}"):
                return entry
    return None


def verdict(
    mail: ParsedMail,
    sender: str,
    envelope: str | None,
    *,
    block: Sequence[str],
    allow: Sequence[str],
    mta_headers: bool,
    rule: str | None,
) -> str | None:
    """Why the message is spam (the allow list wins over everything), or None."""
    if listed([sender], allow):
        return None
    blocked = listed([sender, *([envelope] if envelope else [])], block)
    if blocked:
        return f"{blocked} is on the block list"
    stamped = mta_verdict(mail) if mta_headers else None
    if stamped:
        return stamped
    return f"rule {rule}" if rule else None
