"""Deliver a composed message: through the relay (SMTP) or into the local maildir.

Errors are classified the way an MTA would: 4xx answers, refused connections and timeouts
are temporary; a 5xx answer is permanent, for the recipients it concerns — unless it is about
the relay itself (any 5xx before MAIL FROM, such as a refused login; a policy, relaying or
authentication answer to MAIL FROM or DATA; see `mail.refusals`): then the mail waits
(`RelayRefused`). Answers to RCPT are returned as they are: whose fault each is, the sender
judges, knowing what the relay answered others. A TLS setting that cannot be honoured is an
error, never a silent fall back to cleartext. With `auth = "oauth2"` the relay is
authenticated by AUTH XOAUTH2 (or OAUTHBEARER) with the current access token; no token to be
had is a temporary failure, since it is about the relay, not the message.
"""

from __future__ import annotations

import logging
import mailbox
import select
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

from mailtickets.config.settings import OutgoingSettings
from mailtickets.errors import PermanentFailure, RelayRefused, TemporaryFailure, TokenError
from mailtickets.health import Heartbeat
from mailtickets.mail.refusals import Blame, blame
from mailtickets.oauth2 import TokenSource, sasl_response
from mailtickets.oauth2_token import AccessToken
from mailtickets.outbound import wire
from mailtickets.outbound.compose import Composed

if TYPE_CHECKING:
    from typing_extensions import Buffer  # collections.abc's from Python 3.12

log = logging.getLogger(__name__)

#: How long the relay may take to answer the final dot of DATA: RFC 5321 4.5.3.2.6 asks for at
#: least 10 minutes, since the relay may be delivering the message meanwhile; giving up sooner
#: sends it again, and the relay delivers it twice.
FINAL_DOT_TIMEOUT = timedelta(minutes=10)

_NOT_ASCII = "553 5.6.7 the relay does not offer SMTPUTF8 for this non-ASCII address"


@dataclass(frozen=True)
class Delivery:
    """What the transport made of one message."""

    accepted: tuple[str, ...]
    #: Recipients the relay answered 5xx, with its answer.
    refused: dict[str, str] = field(default_factory=dict)
    #: Recipients the relay answered 4xx: they are tried again later.
    deferred: tuple[str, ...] = ()
    #: Recipients never offered to the relay, and why (it cannot take their address).
    unsendable: dict[str, str] = field(default_factory=dict)


class Transport(Protocol):
    def send(
        self, raw: bytes | bytearray | Composed, envelope_from: str, recipients: list[str]
    ) -> Delivery: ...

    def close(self) -> None: ...

    def watch(self, heartbeat: Heartbeat, activity: str = "") -> None:
        """Announce to `heartbeat` (under `activity`: the connection among several) the
        waits longer than `[outgoing] timeout` sending brings."""
        ...


class MaildirTransport:
    """Writes each message into a maildir, for the embedded default: no relay needed."""

    def __init__(self, settings: OutgoingSettings) -> None:
        # Maildir creates only its last folder; the storage folder holding it may be new too
        # (with the signing key from the environment nothing else has created it yet).
        settings.maildir.parent.mkdir(parents=True, exist_ok=True)
        self._box = mailbox.Maildir(settings.maildir, create=True)

    def send(
        self, raw: bytes | bytearray | Composed, envelope_from: str, recipients: list[str]
    ) -> Delivery:
        try:
            self._box.add(bytes(raw))
        except OSError as exc:
            raise TemporaryFailure(f"cannot write to the outbox maildir: {exc}") from exc
        return Delivery(tuple(recipients))

    def watch(self, heartbeat: Heartbeat, activity: str = "") -> None:
        """A file written waits for nothing longer."""

    def close(self) -> None:
        return None


class SmtpTransport:
    """Sends through the configured relay, keeping the connection open between messages.

    `tokens` gives the access tokens when the relay is authenticated by OAuth2.
    """

    def __init__(self, settings: OutgoingSettings, tokens: TokenSource | None = None) -> None:
        assert settings.host is not None
        assert (settings.oauth2 is None) == (tokens is None), "auth = oauth2 needs a TokenSource"
        self._settings = settings
        self._tokens = tokens
        self._connection: smtplib.SMTP | None = None
        self._heartbeat: Heartbeat | None = None
        self._activity = ""

    def watch(self, heartbeat: Heartbeat, activity: str = "") -> None:
        """The answer to the final dot may take `FINAL_DOT_TIMEOUT`: announced when awaited."""
        self._heartbeat, self._activity = heartbeat, activity

    def send(
        self, raw: bytes | bytearray | Composed, envelope_from: str, recipients: list[str]
    ) -> Delivery:
        try:
            connection = self._connect()
        except smtplib.SMTPException as exc:
            # Greeting, TLS or login refused: about the relay, not this message, so it waits.
            self._drop()
            answered = isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500
            error = RelayRefused if answered else TemporaryFailure
            raise error(f"relay {self._where}: {_reason(exc)}") from exc
        except OSError as exc:
            self._drop()
            raise TemporaryFailure(f"relay {self._where}: {exc or type(exc).__name__}") from exc
        utf8 = connection.has_extn("smtputf8")
        unsendable = {r: _NOT_ASCII for r in recipients if not utf8 and not r.isascii()}
        wanted = [r for r in recipients if r not in unsendable]
        if not wanted:
            return Delivery((), unsendable=unsendable)
        try:
            # smtplib asks a message only its length (for SIZE) and hands it to our `data`.
            refused = connection.sendmail(
                envelope_from,
                wanted,
                raw,  # type: ignore[arg-type]
                mail_options=["SMTPUTF8"] if utf8 else [],
            )
        except smtplib.SMTPRecipientsRefused as exc:
            self._drop()
            return _delivery((), exc.recipients, unsendable)
        except smtplib.SMTPResponseException as exc:  # MAIL FROM or DATA refused
            self._drop()
            if exc.smtp_code < 500:
                raise TemporaryFailure(_reason(exc)) from exc
            if blame(_reason(exc)) is Blame.RELAY:
                raise RelayRefused(f"relay {self._where}: {_reason(exc)}") from exc
            raise PermanentFailure(_reason(exc)) from exc
        except TemporaryFailure:
            # The message could not be read to its end (a file erased as it was written): the
            # relay has part of it after DATA, so the connection is closed, neither ended with
            # the dot that would deliver it nor with a QUIT it would take for more text.
            self._abandon()
            raise
        except Exception as exc:  # anything else leaves the session unknown: start afresh
            self._drop()
            raise TemporaryFailure(f"relay {self._where}: {exc or type(exc).__name__}") from exc
        accepted = tuple(r for r in wanted if r not in refused)
        return _delivery(accepted, refused, unsendable)

    @property
    def _where(self) -> str:
        return f"{self._settings.host}:{self._settings.port}"

    def _connect(self) -> smtplib.SMTP:
        if self._connection is not None:
            if _still_open(self._connection):
                return self._connection
            self._drop()
        s = self._settings
        timeout = s.timeout.total_seconds()
        context = ssl.create_default_context()
        if s.tls == "implicit":
            connection: _PatientSMTP = _PatientSMTP_SSL(
                s.host or "", s.port, timeout=timeout, context=context
            )
        else:
            connection = _PatientSMTP(s.host or "", s.port, timeout=timeout)
        connection.heartbeat, connection.activity = self._heartbeat, self._activity
        try:
            connection.ehlo()
            if s.tls == "starttls":
                if not connection.has_extn("starttls"):
                    raise TemporaryFailure(f"relay {self._where} does not offer STARTTLS")
                connection.starttls(context=context)
                connection.ehlo()
            if self._tokens is not None:
                self._token_login(connection)
            elif s.username:
                connection.login(s.username, s.password or "")
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return connection

    def _token_login(self, connection: smtplib.SMTP) -> None:
        """AUTH with the current token; if refused, renew it and try once more (a token can
        stop working before the time it was said to last)."""
        assert self._settings.oauth2 is not None
        mechanism = self._settings.oauth2.mechanism.upper()
        offered = connection.esmtp_features.get("auth", "").upper().split()
        if mechanism not in offered:
            raise TemporaryFailure(f"relay {self._where} does not offer AUTH {mechanism}")
        token = self._token()
        try:
            self._authenticate(connection, mechanism, token)
        except smtplib.SMTPAuthenticationError:
            assert self._tokens is not None
            self._tokens.refused(token)
            self._authenticate(connection, mechanism, self._token())

    def _token(self) -> AccessToken:
        assert self._tokens is not None
        try:
            return self._tokens.get()
        except TokenError as exc:
            raise TemporaryFailure(f"relay {self._where}: OAuth2 token: {exc.detail}") from exc

    def _authenticate(self, connection: smtplib.SMTP, mechanism: str, token: AccessToken) -> None:
        initial = sasl_response(mechanism, self._settings.username or "", token.value)

        # A refusal comes as a challenge carrying the server's error; the answer is empty.
        def respond(challenge: bytes | None = None) -> str:
            return "" if challenge is not None else initial

        connection.auth(mechanism, respond, initial_response_ok=True)

    def _drop(self) -> None:
        if self._connection is not None:
            try:
                self._connection.quit()
            except (OSError, smtplib.SMTPException):
                self._connection.close()
            self._connection = None

    def _abandon(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def close(self) -> None:
        self._drop()


class _PatientSMTP(wire.Smtp):
    """Waits `FINAL_DOT_TIMEOUT` for the answer to the final dot, `timeout` for the rest.

    `data` sends the message in pieces and reads that answer under the socket's timeout;
    from the first piece after the DATA command on, that timeout is the patient one.
    """

    _in_data = False
    #: Told of the patient wait, so that a relay slow to answer the final dot is no stall.
    heartbeat: Heartbeat | None = None
    #: The sender's connection this is, when it keeps several.
    activity = ""

    def data(self, msg: bytes | bytearray | str) -> tuple[int, bytes]:  # type: ignore[override]
        self._in_data = True
        try:
            return super().data(msg)
        finally:
            self._in_data = False
            if self.sock is not None:
                self.sock.settimeout(self.timeout)

    def send(self, s: Buffer | str) -> None:
        super().send(s)
        if self._in_data and s != "data\r\n" and self.sock is not None:
            patient = max(FINAL_DOT_TIMEOUT.total_seconds(), float(self.timeout))
            self.sock.settimeout(patient)
            if self.heartbeat is not None:
                self.heartbeat.beat(patient, self.activity)


class _PatientSMTP_SSL(_PatientSMTP, wire.SmtpSsl):
    """`_PatientSMTP` over implicit TLS."""


def _delivery(
    accepted: tuple[str, ...], refused: dict[str, tuple[int, bytes]], unsendable: dict[str, str]
) -> Delivery:
    answers = {r: _answer(code, text) for r, (code, text) in refused.items()}
    permanent = {r: a for r, a in answers.items() if a.startswith("5")}
    deferred = tuple(r for r in answers if r not in permanent)
    return Delivery(accepted, permanent, deferred, unsendable)


def _still_open(connection: smtplib.SMTP) -> bool:
    """Whether a kept connection can take the next message, without a round trip (NOOP).

    Between our commands a relay sends nothing, so a socket with something to read has been
    closed by the relay, or is about to be (a 421 on its idle timeout).
    """
    sock = connection.sock
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):  # closed under us
        return False
    return not readable


def _reason(exc: smtplib.SMTPException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return _answer(exc.smtp_code, exc.smtp_error)
    return str(exc) or type(exc).__name__


def _answer(code: int, text: bytes | str) -> str:
    shown = text.decode(errors="replace") if isinstance(text, bytes) else text
    return f"{code} {shown}".strip()


def transport_for(settings: OutgoingSettings, tokens: TokenSource | None = None) -> Transport:
    """The relay when `host` is set (with `tokens` for OAuth2), else the local maildir."""
    return SmtpTransport(settings, tokens) if settings.host else MaildirTransport(settings)
