"""Whose fault a 5xx answer from our relay is: the recipient's, the relay's, or nobody's known.

An address is suppressed only on evidence about that address: an enhanced status 5.1.x (bad
mailbox, bad domain, bad syntax) answered to its RCPT. An answer about the relay itself —
its policy, relaying or authentication (enhanced 5.7.x; 530 and 535; words such as "Relay
access denied") — blames nobody: the mail waits until the relay is fixed. So does the same
answer given to different recipients, since a relay that knows nothing of them refuses them
all alike: `same_answer` tells two answers apart with the addresses left out. Any other 5xx
fails the message for that recipient without suppressing the address.
"""

from __future__ import annotations

import enum
import re
from datetime import timedelta

_CODE = re.compile(r"(?<![\d.])([2-5]\d\d)(?![\d.])")
_ENHANCED = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
#: Basic codes that are about the session, never a recipient (RFC 4954: authentication
#: required, credentials invalid).
_RELAY_CODES = frozenset({"530", "535"})
#: Words of relays that give no enhanced code, or the undefined x.0.0 (Exim: "550 relay
#: not permitted").
_RELAY_WORDS = re.compile(r"\brelay(ing)?\b|\bauthenticat", re.IGNORECASE)
_ADDRESS = re.compile(r"<[^<>\s]*>|[^\s<>:;,\"']+@[^\s<>:;,\"']+")
_SPACE = re.compile(r"\s+")
#: Two recipients refused with the same answer this close in time were refused by a relay
#: that knows neither; further apart, they may both really be gone.
ALIKE_WITHIN = timedelta(days=1)


class Blame(enum.StrEnum):
    RECIPIENT = "recipient"  # the address is bad: suppress it
    RELAY = "relay"  # the relay's own policy: hold the mail, suppress nobody
    MESSAGE = "message"  # refused, cause unknown: fail this message, suppress nobody


def blame(answer: str) -> Blame:
    """Whom the 5xx `answer` (e.g. `554 5.7.1 <x@example.com>: Relay access denied`) blames."""
    code = _CODE.search(answer)
    enhanced = _ENHANCED.search(answer)
    if code is not None and code.group(1) in _RELAY_CODES:
        return Blame.RELAY
    if enhanced is not None:
        # Trusted over the words: Postfix's "User unknown in relay recipient table" (5.1.1)
        # is about the recipient, though it says "relay".
        kind = enhanced.group(2)
        if kind == "7":
            return Blame.RELAY
        if kind == "1":
            return Blame.RECIPIENT
        if kind != "0":  # a class that names the cause: mailbox, network, content
            return Blame.MESSAGE
    return Blame.RELAY if _RELAY_WORDS.search(answer) else Blame.MESSAGE


def same_answer(answer: str) -> str:
    """`answer` without the addresses it names, in one case and spacing: two recipients
    refused with equal keys were refused for the same reason, not for their own."""
    return _SPACE.sub(" ", _ADDRESS.sub("<>", answer)).strip().lower()
