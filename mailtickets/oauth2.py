"""OAuth2 access tokens for IMAP and SMTP logins: fetched, renewed before expiry, cached.

A `TokenSource` keeps the access token of one mailbox or of the relay. `get()` hands it out
and asks the token endpoint for a new one once 80 % of its lifetime has passed: the
refresh-token grant (Gmail; Microsoft 365 with delegated access, where a user consented once)
or the client-credentials grant (Microsoft 365 app-only access). Authlib speaks the protocol:
the grants, client authentication in the request body, the error answers of RFC 6749.

When a renewal fails, the token in hand is still handed out until it expires, and the
endpoint is asked again only after a pause that doubles with each failure, never at every
call. The failure is one log line per outage (who, which endpoint, the HTTP status and the
error), `health()` reports it, and `refresh_failures` counts every failed request.

Tokens are cached (`oauth2_cache`) so that a restart uses the token it had. A token or
secret is never logged.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from mailtickets.clock import Clock
from mailtickets.config.settings import ImapMailboxSettings, OAuth2Settings, OutgoingSettings
from mailtickets.errors import TokenError
from mailtickets.health import Health
from mailtickets.oauth2_token import AccessToken, TokenCache, fingerprint

log = logging.getLogger(__name__)

#: Assumed when the endpoint does not say (RFC 6749 only recommends `expires_in`).
DEFAULT_LIFETIME = timedelta(hours=1)
DEFAULT_TIMEOUT = 30.0

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True)
class TokenState:
    """What `mailtickets imap test` and /healthz say about a token."""

    valid_until: datetime | None
    #: "cache" (read from the cache file) or "endpoint" (fetched by this process).
    origin: str | None
    error: str | None
    #: Failed requests since the last success.
    failures: int
    #: The endpoint answered the last request with an error (the credentials need a look).
    refused: bool = False


@dataclass(frozen=True)
class Retry:
    """The pause before asking a failing endpoint again: doubling from `first` to `limit`."""

    first: timedelta = timedelta(seconds=2)
    limit: timedelta = timedelta(minutes=5)

    def delay(self, failures: int) -> timedelta:
        doubling: int = 2 ** min(failures - 1, 32)
        return min(self.limit, self.first * doubling)


class TokenSource:
    """The access token of one mailbox or relay; safe to share between threads."""

    def __init__(
        self,
        owner: str,
        key: str,
        settings: OAuth2Settings,
        storage: Path,
        clock: Clock,
        *,
        create_storage: bool = True,
        timeout: float = DEFAULT_TIMEOUT,
        retry: Retry = Retry(),
    ) -> None:
        #: Who uses the token, for log lines and errors ("IMAP mailbox support").
        self.owner = owner
        #: Names the cache file and the metrics' label ("imap-support", "outgoing").
        self.key = _UNSAFE.sub("_", key)
        self.name = f"OAuth2 token of {owner}"
        self.settings = settings
        self._cache = TokenCache(storage, self.key, fingerprint(settings), create=create_storage)
        self._clock = clock
        self._timeout = timeout
        self._retry = retry
        self._lock = threading.Lock()
        self._loaded = False
        self._refresh_token = settings.refresh_token
        self._token: AccessToken | None = None
        self._origin: str | None = None
        self._error: TokenError | None = None
        self._failures = 0
        self._next_attempt: datetime | None = None
        #: Every failed request to the endpoint, for the metric.
        self.refresh_failures = 0

    def get(self) -> AccessToken:
        """A token valid now, renewed first when due; `TokenError` when there is none."""
        with self._lock:
            self._load()
            now = self._clock.now()
            token = self._token
            if token is not None and now < token.renew_at:
                return token
            if self._next_attempt is None or now >= self._next_attempt:
                try:
                    return self._renewed(self._fetch())
                except TokenError as exc:
                    self._failed(exc, now)
            if token is not None and now < token.expires_at:
                return token
            assert self._error is not None
            error = self._error
            raise TokenError(error.owner, error.detail, refused=error.refused)

    def current(self) -> AccessToken | None:
        """The token `get()` handed out last, without asking the endpoint."""
        with self._lock:
            return self._token

    def refused(self, token: AccessToken) -> None:
        """The server refused `token` (revoked, or expired early): the next `get()` renews."""
        with self._lock:
            if self._token is token:
                self._token = None
                self._next_attempt = None

    def renew_in(self) -> float | None:
        """Seconds until `get()` may hand out a different token; None before the first."""
        with self._lock:
            token = self._token
            if token is None:
                return None
            when = token.renew_at
            if self._next_attempt is not None:
                when = min(max(when, self._next_attempt), token.expires_at)
            return max(0.0, (when - self._clock.now()).total_seconds())

    def state(self) -> TokenState:
        with self._lock:
            self._load()
            token = self._token
            return TokenState(
                valid_until=token.expires_at if token is not None else None,
                origin=self._origin,
                error=self._error.detail if self._error is not None else None,
                failures=self._failures,
                refused=self._error is not None and self._error.refused,
            )

    def health(self) -> Health:
        """Down while the endpoint refuses or is away; the token in hand is named."""
        state = self.state()
        now = self._clock.now()
        valid = state.valid_until is not None and now < state.valid_until
        until = _shown(state.valid_until) if state.valid_until is not None else ""
        if state.error is not None:
            held = f"the current token is valid until {until}" if valid else "no valid token"
            return Health(False, f"{state.error} ({state.failures} failed attempt(s)); {held}")
        if valid:
            return Health(True, f"valid until {until}")
        if state.valid_until is not None:
            return Health(True, f"expired at {until}; renewed when next needed")
        return Health(True, "not fetched yet")

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        cached = self._cache.load()
        if cached is not None:
            self._token, rotated = cached
            self._origin = "cache"
            self._refresh_token = rotated or self._refresh_token

    def _fetch(self) -> AccessToken:
        """Ask the endpoint for a new token; `TokenError` says why it gave none."""
        # Imported at the first fetch: a daemon without OAuth2 does not carry the HTTP client
        # (about 20 MiB resident).
        import requests
        from authlib.integrations.requests_client import OAuth2Session, OAuthError

        s = self.settings
        client = OAuth2Session(
            client_id=s.client_id,
            client_secret=s.client_secret,
            token_endpoint_auth_method="client_secret_post" if s.client_secret else "none",
            scope=s.scope,
        )
        statuses: list[int] = []

        def status(response: requests.Response) -> requests.Response:
            statuses.append(response.status_code)
            return response

        client.register_compliance_hook("access_token_response", status)
        client.register_compliance_hook("refresh_token_response", status)
        asked = self._clock.now()
        try:
            with client:
                if s.flow == "client_credentials":
                    answer = client.fetch_token(
                        s.token_url, grant_type="client_credentials", timeout=self._timeout
                    )
                else:
                    answer = client.refresh_token(
                        s.token_url, refresh_token=self._refresh_token, timeout=self._timeout
                    )
        except OAuthError as exc:
            said = ": ".join(str(part) for part in (exc.error, exc.description) if part)
            code = f"HTTP {statuses[-1]}: " if statuses else ""
            raise self._error_for(f"{code}{said}", refused=True) from exc
        except requests.HTTPError as exc:
            answer = exc.response
            shown = f"HTTP {answer.status_code} {answer.reason}" if answer is not None else str(exc)
            raise self._error_for(shown.strip(), refused=False) from exc
        except requests.Timeout as exc:
            raise self._error_for(f"no answer within {self._timeout:g}s", refused=False) from exc
        except requests.RequestException as exc:
            raise self._error_for(_network_text(exc), refused=False) from exc
        except ValueError as exc:  # the answer is not a JSON object
            raise self._error_for(str(exc), refused=False) from exc
        return self._token_from(answer, asked)

    def _token_from(self, answer: dict[str, Any], asked: datetime) -> AccessToken:
        value = answer.get("access_token")
        if not isinstance(value, str) or not value:
            raise self._error_for("the answer has no access_token", refused=False)
        try:
            lifetime = timedelta(seconds=float(answer["expires_in"]))
        except (KeyError, TypeError, ValueError):
            lifetime = DEFAULT_LIFETIME
        rotated = answer.get("refresh_token")
        if isinstance(rotated, str) and rotated:
            # Microsoft rotates refresh tokens; the newest is the one to keep using.
            self._refresh_token = rotated
        # Lifetimes count from the request, so that a slow answer never overstates them.
        return AccessToken(value, asked, asked + lifetime)

    def _error_for(self, detail: str, *, refused: bool) -> TokenError:
        return TokenError(
            self.owner,
            f"token request to {self.settings.token_url} failed: {detail}",
            refused=refused,
        )

    def _renewed(self, token: AccessToken) -> AccessToken:
        failures, self._failures = self._failures, 0
        self._token, self._origin, self._error, self._next_attempt = token, "endpoint", None, None
        rotated = (
            self._refresh_token if self._refresh_token != self.settings.refresh_token else None
        )
        self._cache.save(token, rotated)
        if failures:
            log.info(
                "%s: OAuth2 token renewed after %d failed attempt(s), valid until %s",
                self.owner,
                failures,
                _shown(token.expires_at),
            )
        else:
            log.info("%s: new OAuth2 token, valid until %s", self.owner, _shown(token.expires_at))
        return token

    def _failed(self, exc: TokenError, now: datetime) -> None:
        self._failures += 1
        self.refresh_failures += 1
        first = self._error is None
        self._error = exc
        self._next_attempt = now + self._retry.delay(self._failures)
        if first:
            log.error("%s: %s", self.owner, exc.detail)
        else:
            log.debug("%s: still failing: %s", self.owner, exc.detail)


def mailbox_tokens(
    box: ImapMailboxSettings, storage: Path, clock: Clock, **options: Any
) -> TokenSource | None:
    """The token source of an `[[imap]]` mailbox with `auth = "oauth2"`, else None."""
    if box.oauth2 is None:
        return None
    owner = f"IMAP mailbox {box.name}"
    return TokenSource(owner, f"imap-{box.name}", box.oauth2, storage, clock, **options)


def relay_tokens(
    outgoing: OutgoingSettings, storage: Path, clock: Clock, **options: Any
) -> TokenSource | None:
    """The token source of the `[outgoing]` relay with `auth = "oauth2"`, else None."""
    if outgoing.oauth2 is None:
        return None
    owner = f"outgoing relay {outgoing.host}:{outgoing.port}"
    return TokenSource(owner, "outgoing", outgoing.oauth2, storage, clock, **options)


def sasl_response(mechanism: str, username: str, token: str) -> str:
    """The client's first SASL message carrying `token`: XOAUTH2 (Google, Microsoft) or
    OAUTHBEARER (RFC 7628)."""
    if mechanism.lower() == "oauthbearer":
        return f"n,a={username},\x01auth=Bearer {token}\x01\x01"
    return f"user={username}\x01auth=Bearer {token}\x01\x01"


def _network_text(exc: BaseException) -> str:
    """The operating system's words inside a requests/urllib3 error chain ("Connection
    refused"), without the pool and object reprs around them."""
    pending: list[BaseException | None] = [exc]
    seen: set[int] = set()
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.strerror:
            return str(current.strerror)
        reason = getattr(current, "reason", None)  # urllib3 keeps the cause of a retry here
        pending += [current.__cause__, current.__context__]
        pending += [a for a in (*current.args, reason) if isinstance(a, BaseException)]
    return type(exc).__name__


def _shown(when: datetime) -> str:
    return when.isoformat(timespec="seconds")
