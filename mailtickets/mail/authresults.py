"""Read `Authentication-Results` (RFC 8601): did a server we trust see DKIM or SPF pass?

Only headers stamped by a trusted authserv-id count: anyone can write the header, but our
own MTA adds its own on top, and that is the one to believe.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_RESULT = re.compile(r"\b(dkim|spf)\s*=\s*(\w+)", re.IGNORECASE)


def authenticated(headers: Iterable[str], trusted_authserv_id: str) -> bool:
    """Whether a header from `trusted_authserv_id` reports dkim=pass or spf=pass."""
    for value in headers:
        authserv_id = value.split(";", 1)[0].strip().split()[0:1]
        if not authserv_id or authserv_id[0].lower() != trusted_authserv_id.lower():
            continue
        results = {method.lower(): result.lower() for method, result in _RESULT.findall(value)}
        if "pass" in (results.get("dkim"), results.get("spf")):
            return True
    return False
