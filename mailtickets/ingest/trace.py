"""Our `Received:` trace line for mail taken in (RFC 5321 4.4, the RFC 3848 `with` keywords).

Whatever the client chose (its HELO name, the recipient) is reduced to safe characters, so no
space, ";" or comment can change what the header says.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from email.utils import format_datetime

# Client-chosen text in our trace line: atext, dots, "@" and address-literal brackets only,
# so no space, ";" or comment can change what the header says.
_UNSAFE_TRACE_TEXT = re.compile(r"[^A-Za-z0-9!#$%&'*+/=?^_`{|}~.@:\[\]-]")


_MAX_TRACE_TEXT = 255


def received_header(
    *,
    helo: str | None,
    peer_ip: str,
    by: str,
    protocol: str,
    recipient: str | None,
    now: datetime,
) -> bytes:
    """Our `Received:` trace line (RFC 5321 4.4), folded, ending in CRLF."""
    lines = [
        f"Received: from {_trace_text(helo or 'unknown')} ({_address_literal(peer_ip)})",
        f"\tby {_trace_text(by)} (mailtickets) with {protocol}",
    ]
    if recipient is not None:
        lines.append(f"\tfor <{_trace_text(recipient)}>")
    lines[-1] += f"; {format_datetime(now)}"
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def _trace_text(text: str) -> str:
    return _UNSAFE_TRACE_TEXT.sub("?", text)[:_MAX_TRACE_TEXT]


def _address_literal(peer_ip: str) -> str:
    try:
        address = ipaddress.ip_address(peer_ip)
    except ValueError:
        return _trace_text(peer_ip)
    return f"[IPv6:{address}]" if address.version == 6 else f"[{address}]"


def with_protocol(source: str, extended: bool, tls: bool) -> str:
    """The RFC 3848 `with` keyword: SMTP, ESMTP, ESMTPS, LMTP or LMTPS."""
    if source == "lmtp":
        return "LMTPS" if tls else "LMTP"
    if tls:
        return "ESMTPS"
    return "ESMTP" if extended else "SMTP"
