"""sd_notify: tell systemd (Type=notify) when we are ready, what we do, that we live, and
when we stop. A datagram to $NOTIFY_SOCKET; without it (not under systemd) nothing is sent.

Twenty lines of protocol do not justify a dependency: the `sdnotify` package is unmaintained
and `systemd-python` needs libsystemd headers to build.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, environ: Mapping[str, str]) -> None:
        path = environ.get("NOTIFY_SOCKET", "")
        # An abstract socket is written with a leading "@" and addressed with a NUL byte.
        self._address = "\0" + path[1:] if path.startswith("@") else path
        usec = environ.get("WATCHDOG_USEC", "")
        #: Seconds between WATCHDOG=1 pings (half systemd's timeout), None when not asked.
        self.watchdog_interval = int(usec) / 2_000_000 if usec.isdigit() and int(usec) else None

    @property
    def enabled(self) -> bool:
        return bool(self._address)

    def notify(self, **fields: str) -> None:
        """Send `READY=1`, `STATUS=…`, `WATCHDOG=1`, `STOPPING=1` as keyword fields."""
        if not self._address:
            return
        payload = "\n".join(f"{key.upper()}={value}" for key, value in fields.items())
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto(payload.encode(), self._address)
        except OSError as exc:
            log.warning("cannot notify systemd at %s: %s", self._address.lstrip("\0"), exc)
