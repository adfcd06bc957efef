"""What the relay answered lately, to tell a recipient's refusal from the relay's.

A relay that knows nothing of our recipients — relaying not permitted, a domain it takes for
its own — gives them all the same answer, whatever its code says: `550 5.1.1 <…>: User unknown
in local recipient table` for every customer. One such answer cannot be told from a real
unknown user; the same answer (addresses aside) to a second recipient, in the same message or
within `ALIKE_WITHIN`, can. The memory is this process's: after a restart it starts empty, and
`outbox retry --all` finds what it missed in the suppressions themselves.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime, timedelta

from mailtickets.mail.addresses import normalise
from mailtickets.mail.refusals import ALIKE_WITHIN, Blame, blame, same_answer

#: Distinct answers remembered; the oldest are forgotten first.
LIMIT = 1000


class RecentRefusals:
    def __init__(self, window: timedelta = ALIKE_WITHIN, limit: int = LIMIT) -> None:
        self._window, self._limit = window, limit
        #: The sender's connections judge their deliveries side by side.
        self._lock = threading.Lock()
        #: same_answer(answer) → recipient → when it was last refused with it.
        self._seen: OrderedDict[str, dict[str, datetime]] = OrderedDict()

    def judge(self, refused: dict[str, str], now: datetime) -> dict[str, Blame]:
        """Whom each recipient's 5xx answer blames: the relay, when the same answer went to
        another recipient of this delivery or of one within the window; else `blame`."""
        with self._lock:
            return self._judge(refused, now)

    def _judge(self, refused: dict[str, str], now: datetime) -> dict[str, Blame]:
        for recipient, answer in refused.items():
            key = same_answer(answer)
            recent = {
                r: at for r, at in self._seen.pop(key, {}).items() if now - at <= self._window
            }
            recent[normalise(recipient)] = now
            self._seen[key] = recent
        verdicts = {
            recipient: Blame.RELAY if len(self._seen[same_answer(answer)]) > 1 else blame(answer)
            for recipient, answer in refused.items()
        }
        while len(self._seen) > self._limit:
            self._seen.popitem(last=False)
        return verdicts
