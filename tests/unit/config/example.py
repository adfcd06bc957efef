"""config.example.toml as the tests read it, including its `# key = value` default lines."""

from __future__ import annotations

import re
from pathlib import Path

EXAMPLE = Path(__file__).parents[3] / "config.example.toml"

# A table header, live or commented out with the rest of an optional block ("#[[imap]]").
_HEADER = re.compile(r"^#?\[\[?([\w.]+)\]\]?")
# The convention the example's header states: "#", one space, a key, " = ". Prose and the
# indented continuation of a comment never start that way.
_DEFAULT = re.compile(r"^# (\w+) = ")
# An example setting commented out to keep the file copy-safe: "#" and at once the TOML.
_EXAMPLE_SETTING = re.compile(r"^#(?=[\[\w])", re.MULTILINE)


def uncommented(text: str) -> str:
    """The example with every example setting switched on: the whole site it describes."""
    return _EXAMPLE_SETTING.sub("", text)


def documented_defaults(text: str) -> dict[str, str]:
    """Key path ("imap.port") -> its default line as TOML ("port = 993  # …")."""
    defaults: dict[str, str] = {}
    section = ""
    for number, line in enumerate(text.splitlines(), start=1):
        if header := _HEADER.match(line):
            section = header[1]
        elif default := _DEFAULT.match(line):
            path = f"{section}.{default[1]}" if section else default[1]
            assert path not in defaults, f"config.example.toml:{number}: {path} has two defaults"
            defaults[path] = line.removeprefix("# ")
    return defaults
