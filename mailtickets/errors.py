"""The exception tree of mailtickets.

Library code raises these; only `mailtickets.cli` turns them into messages and exit codes.

    MailticketsError
    ├── ConfigError              settings cannot be loaded; carries every problem found
    ├── DatabaseError            the database cannot be used as configured
    │   ├── DatabaseUnavailable  cannot connect or cannot commit (temporary for mail edges)
    │   └── SchemaOutOfDate      migrations must run before the daemon may start
    ├── StorageError             `[storage] dir` is missing, or belongs to another user
    ├── NotFound                 a ticket, intake row or other record named by an operator
    ├── ImapError                a mailbox cannot be read, and at which stage (DNS, TCP, TLS,
    │                            authentication, folder)
    ├── TokenError               no OAuth2 access token: the token endpoint refused or is away
    ├── DeliveryError            outgoing mail was not handed to the relay
    │   ├── TemporaryFailure     the relay is away, busy or answered 4xx: try again later
    │   │   └── RelayRefused     the relay refused for reasons of its own (policy, relaying,
    │   │                        authentication): nobody's address is to blame; mail waits
    │   └── PermanentFailure     the relay refused the message itself (5xx)
    ├── WebhookRefused           a webhook receiver refused an event (4xx, a redirect)
    └── PipelineExit             a pipeline step ends the processing of a message early
        ├── Stop                 finished, nothing more to do (a duplicate, an auto-reply)
        └── Quarantine           no retry can help: keep the raw message aside with a reason

Anything else that escapes a pipeline step is taken for a passing failure and retried.
"""

from __future__ import annotations

from collections.abc import Sequence

from mailtickets.outcomes import Outcome


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


class StorageError(MailticketsError):
    """`[storage] dir` cannot be used: missing, or owned by someone the command cannot act as."""


class NotFound(MailticketsError):
    """A record an operator asked for does not exist."""


class ImapError(MailticketsError):
    """A mailbox cannot be read; `stage` says how far the conversation got."""

    def __init__(self, mailbox: str, stage: str, detail: str) -> None:
        self.mailbox = mailbox
        self.stage = stage
        self.detail = detail
        super().__init__(f"mailbox {mailbox}: {stage}: {detail}")


class TokenError(MailticketsError):
    """No OAuth2 access token could be had for `owner` (a mailbox, the relay).

    `refused` is true when the token endpoint answered with an error (a revoked refresh
    token, a wrong client secret): the operator must act. Otherwise it was away or broken.
    """

    def __init__(self, owner: str, detail: str, *, refused: bool) -> None:
        self.owner = owner
        self.detail = detail
        self.refused = refused
        super().__init__(f"{owner}: {detail}")


class DeliveryError(MailticketsError):
    """Outgoing mail was not handed to the relay."""


class TemporaryFailure(DeliveryError):
    """Try again later: the relay is away, busy or answered 4xx."""


class RelayRefused(TemporaryFailure):
    """The relay answered 5xx about itself (its policy, relaying, authentication), not about
    the message or a recipient: the mail waits until the relay is fixed, nobody is suppressed."""


class PermanentFailure(DeliveryError):
    """The relay refused the message itself (5xx); retrying cannot help."""


class WebhookRefused(MailticketsError):
    """A webhook receiver answered that it will not take the event; retrying cannot help."""


class PipelineExit(MailticketsError):
    """A pipeline step ends the processing of one message early."""


class Stop(PipelineExit):
    """Processing ends here successfully with `outcome` (a duplicate, an auto-reply, …)."""

    def __init__(self, outcome: Outcome, reason: str) -> None:
        super().__init__(reason)
        self.outcome, self.reason = outcome, reason


class Quarantine(PipelineExit):
    """The message cannot be processed, whatever the retries: keep it aside with `reason`."""
