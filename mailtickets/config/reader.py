"""Typed reading of one TOML table, collecting every problem instead of stopping at the first.

A `Table` hands out values by key through small *kinds* (parsers that raise `ValueError`
with a user-facing reason). A bad or missing value is recorded as a problem naming its key
path and the default is returned, so one pass over a file reports all of its mistakes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
Kind = Callable[[object], T]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SIZE = re.compile(r"^\s*(\d+)\s*(B|KB|KiB|MB|MiB|GB|GiB)?\s*$")
_SIZE_UNITS = {
    None: 1,
    "B": 1,
    "KB": 1000,
    "KiB": 1024,
    "MB": 1000**2,
    "MiB": 1024**2,
    "GB": 1000**3,
    "GiB": 1024**3,
}
_ADDRESS = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+$")


def shown(value: object) -> str:
    """Render a TOML value as the user wrote it, for messages."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return str(value)


class Problems:
    """The problems found so far in one file."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.items: list[str] = []
        #: Every key path the loader asked for ("imap.port"), whatever the file held, with
        #: the value it falls back to when the key is absent (None: required, unset by
        #: default, or a table): lets the tests hold config.example.toml to the code, every
        #: key documented and every documented default the one used.
        self.asked: dict[str, object] = {}

    def add(self, label: str, key: str | None, reason: str) -> None:
        where = f"[{label}] {key}" if label and key else (f"[{label}]" if label else (key or ""))
        self.items.append(f"{where}: {reason} ({self.source})")


class Table:
    """One TOML table being read; remembers which keys were asked for."""

    def __init__(
        self, data: Mapping[str, Any], label: str, problems: Problems, section: str = ""
    ) -> None:
        self._data = data
        self.label = label
        self.section = section or label
        self.problems = problems
        self._used: set[str] = set()

    def _ask(self, key: str, default: object = None) -> None:
        self._used.add(key)
        self.problems.asked[f"{self.section}.{key}" if self.section else key] = default

    def has(self, key: str) -> bool:
        return key in self._data

    def get(self, key: str, kind: Kind[T], default: T, *, required: bool = False) -> T:
        """The value of `key` parsed by `kind`, or `default` after recording why not."""
        self._ask(key, None if required else default)
        if key not in self._data:
            if required:
                self.problems.add(self.label, key, "is required")
            return default
        value = self._data[key]
        try:
            return kind(value)
        except ValueError as exc:
            self.problems.add(self.label, key, f"{exc}, got {shown(value)}")
            return default

    def optional(self, key: str, kind: Kind[T]) -> T | None:
        """The value of `key` parsed by `kind`, or None when absent or invalid."""
        return self.get(key, kind, None)

    def table(self, key: str) -> Table:
        """A sub-table (absent means empty)."""
        self._ask(key)
        value = self._data.get(key, {})
        label = f"{self.label}.{key}" if self.label else key
        section = f"{self.section}.{key}" if self.section else key
        if not isinstance(value, dict):
            self.problems.add(self.label, key, f"must be a table, got {shown(value)}")
            value = {}
        return Table(value, label, self.problems, section=section)

    def tables(self, key: str, name_key: str | None = None) -> Iterator[Table]:
        """Each table of an array of tables (`[[key]]`), labelled by `name_key` or position."""
        self._ask(key)
        value = self._data.get(key, [])
        # Nested in a table (`[[api.token]]`), the key paths carry the table's name.
        section = f"{self.section}.{key}" if self.section else key
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            problem = f"must be written as [[{section}]] tables, got {shown(value)}"
            self.problems.add(self.label, key, problem)
            return
        # Nested arrays ([[rota.shift]]) are named by their parent's label and section.
        prefix = f"{self.label}." if self.label else ""
        section = f"{self.section}.{key}" if self.section else key
        for position, item in enumerate(value, start=1):
            name = item.get(name_key) if name_key else None
            label = f"{key}.{name}" if isinstance(name, str) and name else f"{key}.{position}"
            yield Table(item, prefix + label, self.problems, section=section)

    def unused(self, key: str, reason: str) -> None:
        """Record `key`, if present, as a mistake `reason` explains better than "unknown key"
        (it does nothing with the other settings chosen, or it is no longer read)."""
        if key in self._data:
            self._used.add(key)
            self.problems.add(self.label, key, reason)

    def finish(self) -> None:
        """Record every key that nothing asked for: typos must not pass silently."""
        for key in sorted(set(self._data) - self._used):
            self.problems.add(self.label, key, "unknown key")


def string(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    return value


def nonempty(value: object) -> str:
    text = string(value)
    if not text.strip():
        raise ValueError("must not be empty")
    return text


def boolean(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def integer(low: int, high: int) -> Kind[int]:
    def parse(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"must be an integer {low}-{high}")
        return value

    return parse


def fraction(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise ValueError("must be a number between 0 and 1")
    return float(value)


def choice(*allowed: str) -> Kind[str]:
    def parse(value: object) -> str:
        if value not in allowed:
            raise ValueError("must be one of " + ", ".join(json.dumps(a) for a in allowed))
        return str(value)

    return parse


def duration(value: object) -> timedelta:
    """`"45s"`, `"30m"`, `"4h"`, `"2d"`, `"1w"` or a number of seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return timedelta(seconds=value)
    match = _DURATION.match(value) if isinstance(value, str) else None
    if not match:
        raise ValueError('must be a duration such as "30s", "15m", "4h" or "2d"')
    return timedelta(seconds=float(match[1]) * _DURATION_UNITS[match[2]])


def positive_duration(value: object) -> timedelta:
    parsed = duration(value)
    if parsed <= timedelta(0):
        raise ValueError("must be a duration longer than zero")
    return parsed


def size(value: object) -> int:
    """A byte count: an integer or `"25MiB"`, `"10MB"`, `"512KiB"`."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    match = _SIZE.match(value) if isinstance(value, str) else None
    if not match or int(match[1]) <= 0:
        raise ValueError('must be a size in bytes such as 1048576 or "25MiB"')
    return int(match[1]) * _SIZE_UNITS[match[2]]


def address(value: object) -> str:
    """A bare mail address, kept as written but with the domain lowercased."""
    text = string(value).strip()
    if not _ADDRESS.match(text):
        raise ValueError("must be a mail address such as support@example.com")
    local, domain = text.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def path(base: Path | None) -> Kind[Path]:
    """A file or directory; a relative one is taken from `base` (the config file's directory).

    `base` None (the embedded default) leaves it relative to the working directory.
    """

    def parse(value: object) -> Path:
        written = Path(nonempty(value))
        return written if base is None else base / written

    return parse


def list_of(kind: Kind[T]) -> Kind[tuple[T, ...]]:
    def parse(value: object) -> tuple[T, ...]:
        if not isinstance(value, list):
            raise ValueError("must be a list")
        return tuple(kind(item) for item in value)

    return parse


def host_port(value: object) -> tuple[str, int]:
    """`"127.0.0.1:9464"` → ("127.0.0.1", 9464)."""
    host, sep, port = string(value).rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError('must be "host:port" such as "127.0.0.1:9464"')
    return host.strip("[]"), int(port)
