"""Deliver a composed message: through the relay (SMTP) or into the local maildir.

Errors are classified the way an MTA would: a 5xx answer is permanent, for the recipients it
concerns; 4xx answers, refused connections and timeouts are temporary. A TLS setting that
cannot be honoured is an error, never a silent fall back to cleartext.
"""

from __future__ import annotations

import logging
import mailbox
import smtplib
import ssl
from dataclasses import dataclass, field
from typing import Protocol

from mailtickets.config.settings import OutgoingSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    """What the transport made of one message."""

    accepted: tuple[str, ...]
    #: Recipients refused for good, with the server's answer.
    refused: dict[str, str] = field(default_factory=dict)


class TemporaryFailure(Exception):
    """Try again later: the relay is away, busy or answered 4xx."""


class PermanentFailure(Exception):
    """The relay refused the message itself (5xx); retrying cannot help."""


class Transport(Protocol):
    def send(self, raw: bytes, envelope_from: str, recipients: list[str]) -> Delivery: ...

    def close(self) -> None: ...


class MaildirTransport:
    """Writes each message into a maildir, for the embedded default: no relay needed."""

    def __init__(self, settings: OutgoingSettings) -> None:
        self._box = mailbox.Maildir(settings.maildir, create=True)

    def send(self, raw: bytes, envelope_from: str, recipients: list[str]) -> Delivery:
        try:
            self._box.add(raw)
        except OSError as exc:
            raise TemporaryFailure(f"cannot write to the outbox maildir: {exc}") from exc
        return Delivery(tuple(recipients))

    def close(self) -> None:
        return None


class SmtpTransport:
    """Sends through the configured relay, keeping the connection open between messages."""

    def __init__(self, settings: OutgoingSettings) -> None:
        assert settings.host is not None
        self._settings = settings
        self._connection: smtplib.SMTP | None = None

    def send(self, raw: bytes, envelope_from: str, recipients: list[str]) -> Delivery:
        try:
            connection = self._connect()
            refused = connection.sendmail(envelope_from, recipients, raw)
        except smtplib.SMTPRecipientsRefused as exc:
            return self._all_refused(exc.recipients)
        except smtplib.SMTPResponseException as exc:
            self._drop()
            reason = _answer(exc.smtp_code, exc.smtp_error)
            if 500 <= exc.smtp_code < 600:
                raise PermanentFailure(reason) from exc
            raise TemporaryFailure(reason) from exc
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            raise TemporaryFailure(f"relay {self._where}: {exc or type(exc).__name__}") from exc
        failed = {r: _answer(code, text) for r, (code, text) in refused.items()}
        permanent = {r: a for r, a in failed.items() if a.startswith("5")}
        if len(permanent) < len(failed):
            log.warning("relay deferred some recipients: %s", sorted(set(failed) - set(permanent)))
        return Delivery(tuple(r for r in recipients if r not in failed), permanent)

    def _all_refused(self, refused: dict[str, tuple[int, bytes]]) -> Delivery:
        answers = {r: _answer(code, text) for r, (code, text) in refused.items()}
        if all(a.startswith("5") for a in answers.values()):
            return Delivery((), answers)
        raise TemporaryFailure("; ".join(f"{r}: {a}" for r, a in answers.items()))

    @property
    def _where(self) -> str:
        return f"{self._settings.host}:{self._settings.port}"

    def _connect(self) -> smtplib.SMTP:
        if self._connection is not None:
            try:
                if self._connection.noop()[0] == 250:
                    return self._connection
            except (OSError, smtplib.SMTPException):
                pass
            self._drop()
        s = self._settings
        timeout = s.timeout.total_seconds()
        context = ssl.create_default_context()
        if s.tls == "implicit":
            connection: smtplib.SMTP = smtplib.SMTP_SSL(
                s.host or "", s.port, timeout=timeout, context=context
            )
        else:
            connection = smtplib.SMTP(s.host or "", s.port, timeout=timeout)
        try:
            connection.ehlo()
            if s.tls == "starttls":
                if not connection.has_extn("starttls"):
                    raise TemporaryFailure(f"relay {self._where} does not offer STARTTLS")
                connection.starttls(context=context)
                connection.ehlo()
            if s.username:
                connection.login(s.username, s.password or "")
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return connection

    def _drop(self) -> None:
        if self._connection is not None:
            try:
                self._connection.quit()
            except (OSError, smtplib.SMTPException):
                self._connection.close()
            self._connection = None

    def close(self) -> None:
        self._drop()


def _answer(code: int, text: bytes | str) -> str:
    shown = text.decode(errors="replace") if isinstance(text, bytes) else text
    return f"{code} {shown}".strip()


def transport_for(settings: OutgoingSettings) -> Transport:
    return SmtpTransport(settings) if settings.host else MaildirTransport(settings)
