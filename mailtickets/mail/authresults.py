"""Read `Authentication-Results` (RFC 8601): did a server we trust see the agent's own domain
pass DKIM or SPF?

Anyone can write this header, so only one counts: the topmost with our authserv-id, the one
our MTA adds on arrival above everything the sender wrote (RFC 8601 section 5 also asks the
MTA to remove incoming ones with its id). Headers below it and those of other authserv-ids
are never read for a pass. The header is parsed by `authres`, a full RFC 8601 grammar, so a
comment, a quoted string or a property value (`smtp.mailfrom="spf=pass"@evil.example`) is
never taken for a result, and `x-dkim=pass` is another method, not DKIM.

A pass counts only when it *aligns* with the domain of the From address: DKIM's `header.d`
equal to it or a parent of it (as DMARC's relaxed alignment allows), or the domain of SPF's
`smtp.mailfrom` equal to it. A DKIM signature of `evil.example`, or SPF for the envelope of
`evil.example`, proves nothing about `alice@acme.example`. A `dmarc=fail` in any header of
our authserv-id distrusts the message whatever else passed: a forged fail only hurts the
forger. An unreadable trusted header believes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import authres

#: A longer header is no MTA's verdict, and the parser is quadratic in its length.
MAX_HEADER = 8 * 1024
#: Comments nested deeper than this are no MTA's either; the parser recurses into each one.
MAX_COMMENT_DEPTH = 16


@dataclass(frozen=True)
class Authentication:
    """Whether the message proves its From domain, and in one line why (or why not)."""

    aligned: bool
    reason: str


def check(headers: Sequence[str], trusted_authserv_id: str, from_domain: str) -> Authentication:
    """What our MTA (`trusted_authserv_id`) says of the From domain `from_domain`."""
    ours = [h for h in map(_parse, headers) if h is not None and _is_ours(h, trusted_authserv_id)]
    if not ours:
        return Authentication(False, f"no Authentication-Results from {trusted_authserv_id}")
    if any(_method(r) == "dmarc" and _result(r) == "fail" for h in ours for r in h.results):
        return Authentication(False, f"{trusted_authserv_id} reports dmarc=fail")
    domain = _domain(from_domain)
    for result in ours[0].results:
        method, passed = _method(result), _result(result) == "pass"
        if passed and method == "dkim" and _aligned_dkim(_property(result, "header", "d"), domain):
            return Authentication(True, f"{trusted_authserv_id}: dkim=pass for {domain}")
        if (
            passed
            and method == "spf"
            and _aligned_spf(_property(result, "smtp", "mailfrom"), domain)
        ):
            return Authentication(True, f"{trusted_authserv_id}: spf=pass for {domain}")
    return Authentication(False, f"no DKIM or SPF pass for {domain} from {trusted_authserv_id}")


def _parse(value: str) -> Any | None:
    """The parsed header, or None for one no MTA would write."""
    if len(value) > MAX_HEADER or _comment_depth(value) > MAX_COMMENT_DEPTH:
        return None
    try:
        return authres.all_features().parse_value(" ".join(value.split()))
    except authres.AuthResError:
        return None


def _comment_depth(value: str) -> int:
    depth = deepest = 0
    for char in value:
        if char == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif char == ")":
            depth = max(depth - 1, 0)
    return deepest


def _is_ours(header: Any, trusted_authserv_id: str) -> bool:
    return str(header.authserv_id or "").lower() == trusted_authserv_id.lower()


def _method(result: Any) -> str:
    return str(getattr(result, "method", "") or "").lower()


def _result(result: Any) -> str:
    return str(getattr(result, "result", "") or "").lower()


def _property(result: Any, ptype: str, name: str) -> str:
    for prop in getattr(result, "properties", None) or ():
        if str(prop.type).lower() == ptype and str(prop.name).lower() == name:
            return str(prop.value or "")
    return ""


def _domain(value: str) -> str:
    """The domain of an address or domain, lower-cased, without a final dot or quotes."""
    return value.rpartition("@")[2].strip().strip('"').rstrip(".").lower()


def _aligned_dkim(signing_domain: str, from_domain: str) -> bool:
    signer = _domain(signing_domain)
    # A bare top-level domain signs nothing anyone owns; never let it cover every domain.
    if not from_domain or "." not in signer:
        return False
    return from_domain == signer or from_domain.endswith(f".{signer}")


def _aligned_spf(mailfrom: str, from_domain: str) -> bool:
    return bool(from_domain) and _domain(mailfrom) == from_domain
