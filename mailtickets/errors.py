"""The exception tree of mailtickets.

Library code raises these; only `mailtickets.cli` turns them into messages and exit codes.

    MailticketsError
    ├── ConfigError              settings cannot be loaded; carries every problem found
    ├── DatabaseError            the database cannot be used as configured
    │   ├── DatabaseUnavailable  cannot connect or cannot commit (temporary for mail edges)
    │   └── SchemaOutOfDate      migrations must run before the daemon may start
    ├── NotFound                 a ticket, intake row or other record named by an operator
    └── ImapError                a mailbox cannot be read, and at which stage (DNS, TCP, TLS,
                                 authentication, folder); defined in ingest.imap_connect
"""

from __future__ import annotations

from collections.abc import Sequence


class MailticketsError(Exception):
    """Base of every error mailtickets raises on purpose."""


class ConfigError(MailticketsError):
    """The settings are invalid; `problems` lists each one with its key path and file."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


class DatabaseError(MailticketsError):
    """The database cannot be used as configured."""


class DatabaseUnavailable(DatabaseError):
    """Connecting or committing failed; callers treat it as temporary."""


class SchemaOutOfDate(DatabaseError):
    """The database schema is not at the revision this version needs."""


class NotFound(MailticketsError):
    """A record an operator asked for does not exist."""
