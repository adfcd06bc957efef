"""The real `mailtickets run` process, started in a directory and stopped by signal."""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.support.cli import COMMAND, environment

READY_LINE = "Stop with Ctrl-C"


class Daemon:
    """A running `mailtickets run`; its stderr is collected in `output`."""

    def __init__(
        self,
        cwd: Path,
        args: tuple[str, ...] = (),
        env: Mapping[str, str] = {},
        command: Sequence[str] = COMMAND,
    ):
        self.output = ""
        self.process = subprocess.Popen(
            [*command, *args, "run"],
            cwd=cwd,
            env=environment(env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def wait_for(self, text: str | re.Pattern[str], timeout: float = 30) -> None:
        """Read stderr until `text` appears (or a line matches the pattern); fail with what
        was printed if it does not."""
        assert self.process.stderr is not None
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stderr, selectors.EVENT_READ)
            while not _seen(text, self.output):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.process.poll() is not None:
                    raise AssertionError(f"{text!r} not seen; daemon said:\n{self.output}")
                # Raw reads: a buffered readline would hide data from the next select.
                if selector.select(remaining):
                    self.output += os.read(self.process.stderr.fileno(), 65536).decode()

    def __enter__(self) -> Daemon:
        return self

    def __exit__(self, *exc_info: object) -> None:
        # Never leave a daemon behind a failed test.
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate(timeout=20)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        """Send `sig` and return the exit code, collecting the rest of stderr."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        _, rest = self.process.communicate(timeout=timeout)
        self.output += rest.decode()
        return self.process.returncode


def _seen(text: str | re.Pattern[str], output: str) -> bool:
    return text.search(output) is not None if isinstance(text, re.Pattern) else text in output
