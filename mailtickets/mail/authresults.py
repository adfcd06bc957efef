"""Read `Authentication-Results` (RFC 8601): did a server we trust see DKIM or SPF pass?

Anyone can write this header, so only the topmost one counts — the one our own MTA adds on
arrival, above everything the sender wrote — and only when it carries our authserv-id.
(RFC 8601 section 5 also asks the MTA to remove incoming headers with its own id.)
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_RESULT = re.compile(r"\b(dkim|spf)\s*=\s*(\w+)", re.IGNORECASE)


def authenticated(headers: Sequence[str], trusted_authserv_id: str) -> bool:
    """Whether the topmost header is from `trusted_authserv_id` and reports dkim or spf pass."""
    if not headers:
        return False
    top = headers[0]
    authserv_id = top.split(";", 1)[0].strip().split()[0:1]
    if not authserv_id or authserv_id[0].lower() != trusted_authserv_id.lower():
        return False
    results = {method.lower(): result.lower() for method, result in _RESULT.findall(top)}
    return "pass" in (results.get("dkim"), results.get("spf"))
