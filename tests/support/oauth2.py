"""A real OAuth2 authorization server for tests: a token endpoint and an introspection endpoint.

`TokenServer` listens on a free port of 127.0.0.1 (http.server in a thread) and plays the part
of Google's or Microsoft's token endpoint: it issues access tokens of a lifetime the test
chooses for a refresh token it granted (`grant`) or for a registered confidential client
(`client_credentials`), counts every refresh, and refuses on demand (`fail`). Its
`/introspect` endpoint (RFC 7662) is what Dovecot's `oauth2` passdb asks whether a token is
one it issued and still unexpired, and for which user; `OAuth2Relay`, an aiosmtpd relay that
takes AUTH XOAUTH2 and OAUTHBEARER only, asks the same question directly.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.support.relay import Relay
from tests.support.relay import _Handler as _RelayHandler

HOST = "127.0.0.1"


@dataclass
class _Issued:
    username: str
    expires: float  # time.monotonic()


@dataclass
class TokenServer:
    """Start with `start()` (or `running_token_server()`); the port stays until `close()`."""

    #: Lifetime of every access token issued from now on, in seconds.
    lifetime: float = 3600.0
    #: (HTTP status, JSON body) answered to every token request while set.
    failure: tuple[int, dict[str, Any]] | None = None
    #: Token requests answered, by grant type, failed ones included.
    requests: dict[str, int] = field(default_factory=dict)
    #: Tokens found inactive (unknown, expired or revoked) when asked about.
    inactive: int = 0
    _refresh_tokens: dict[str, tuple[str, str]] = field(default_factory=dict)
    _clients: dict[str, tuple[str, str]] = field(default_factory=dict)
    _issued: dict[str, _Issued] = field(default_factory=dict)
    _lock: threading.Condition = field(default_factory=threading.Condition)
    _server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_port)

    @property
    def token_url(self) -> str:
        return f"http://{HOST}:{self.port}/token"

    @property
    def introspection_url(self) -> str:
        return f"http://{HOST}:{self.port}/introspect"

    def start(self) -> TokenServer:
        server = ThreadingHTTPServer((HOST, 0), _HttpHandler)
        server.daemon_threads = True
        server.tokens = self  # type: ignore[attr-defined]
        self._server = server
        threading.Thread(target=server.serve_forever, name="token-server", daemon=True).start()
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def grant(self, client_id: str, username: str) -> str:
        """A refresh token for `username`, as the user's consent in a browser would give."""
        refresh_token = f"rt-{secrets.token_hex(12)}"
        with self._lock:
            self._refresh_tokens[refresh_token] = (client_id, username)
        return refresh_token

    def register_client(self, client_id: str, secret: str, username: str) -> None:
        """A confidential client whose app-only tokens open `username`'s mailbox."""
        with self._lock:
            self._clients[client_id] = (secret, username)

    def fail(self, status: int, error: str, description: str) -> None:
        """Refuse every token request with `status` and an RFC 6749 error body."""
        with self._lock:
            self.failure = (status, {"error": error, "error_description": description})

    def recover(self) -> None:
        with self._lock:
            self.failure = None

    def expire_all(self) -> None:
        """Make every token issued so far inactive, as a revocation or a clock jump would."""
        with self._lock:
            for issued in self._issued.values():
                issued.expires = 0.0

    def issued(self) -> list[str]:
        """Every access token issued so far."""
        with self._lock:
            return list(self._issued)

    def count(self, grant_type: str) -> int:
        with self._lock:
            return self.requests.get(grant_type, 0)

    def wait_for(self, grant_type: str, count: int, timeout: float) -> bool:
        """Block until `count` requests of `grant_type` were answered."""
        with self._lock:
            return self._lock.wait_for(lambda: self.requests.get(grant_type, 0) >= count, timeout)

    def active(self, token: str) -> str | None:
        """The user of `token` if this server issued it and it has not expired."""
        with self._lock:
            issued = self._issued.get(token)
            if issued is None or issued.expires <= time.monotonic():
                self.inactive += 1
                return None
            return issued.username

    def _token_request(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        grant_type = form.get("grant_type", "")
        with self._lock:
            try:
                if self.failure is not None:
                    return self.failure
                if grant_type == "refresh_token":
                    username = self._check_refresh(form)
                elif grant_type == "client_credentials":
                    username = self._check_client(form)
                else:
                    return 400, {"error": "unsupported_grant_type"}
                if username is None:
                    return 400, {"error": "invalid_grant", "error_description": "unknown grant"}
                token = f"at-{secrets.token_hex(16)}"
                self._issued[token] = _Issued(username, time.monotonic() + self.lifetime)
                return 200, {
                    "access_token": token,
                    "token_type": "Bearer",
                    "expires_in": self.lifetime,
                    "scope": form.get("scope", ""),
                }
            finally:
                self.requests[grant_type] = self.requests.get(grant_type, 0) + 1
                self._lock.notify_all()

    def _check_refresh(self, form: dict[str, str]) -> str | None:
        granted = self._refresh_tokens.get(form.get("refresh_token", ""))
        if granted is None or granted[0] != form.get("client_id"):
            return None
        return granted[1]

    def _check_client(self, form: dict[str, str]) -> str | None:
        client = self._clients.get(form.get("client_id", ""))
        if client is None or client[0] != form.get("client_secret"):
            return None
        return client[1]


class _HttpHandler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def do_POST(self) -> None:
        tokens: TokenServer = self.server.tokens  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if self.path == "/token":
            self._answer(*tokens._token_request(form))
        elif self.path == "/introspect":
            username = tokens.active(form.get("token", ""))
            body = {"active": True, "username": username} if username else {"active": False}
            self._answer(200, body)
        else:
            self._answer(404, {"error": "not_found"})

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: pytest shows what the test asserts, not every request."""


_SASL = {
    "XOAUTH2": re.compile(r"^user=(?P<user>[^\x01]*)\x01auth=Bearer (?P<token>[^\x01]+)\x01\x01$"),
    "OAUTHBEARER": re.compile(r"^n,a=(?P<user>[^,]*),\x01auth=Bearer (?P<token>[^\x01]+)\x01\x01$"),
}


class _OAuth2Handler(_RelayHandler):
    def __init__(self, tokens: TokenServer) -> None:
        super().__init__()
        self.tokens = tokens
        #: (mechanism, user) of each successful AUTH, and the count of refused ones.
        self.logins: list[tuple[str, str]] = []
        self.refused = 0

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:
        return await self._check(server, args)

    async def auth_OAUTHBEARER(self, server: Any, args: list[str]) -> AuthResult:
        return await self._check(server, args)

    async def _check(self, server: Any, args: list[str]) -> AuthResult:
        mechanism = args[0].upper()
        if len(args) > 1:
            said = base64.b64decode(args[1]).decode()
        else:
            answer = await server.challenge_auth("")
            said = answer.decode() if isinstance(answer, bytes) else ""
        match = _SASL[mechanism].match(said)
        if match and self.tokens.active(match["token"]) == match["user"]:
            self.logins.append((mechanism, match["user"]))
            return AuthResult(success=True, auth_data=match["user"])
        self.refused += 1
        # As Google and Microsoft do: the error comes as a challenge, answered by an empty line.
        await server.challenge_auth(json.dumps({"status": "401", "schemes": "bearer"}))
        return AuthResult(success=False, handled=False)


class OAuth2Relay(Relay):
    """A `Relay` that takes mail only after AUTH XOAUTH2 or OAUTHBEARER with a token that
    `tokens` issued for the user named, still active."""

    def __init__(self, tokens: TokenServer) -> None:
        super().__init__()
        self.handler: _OAuth2Handler = _OAuth2Handler(tokens)

    def up(self, smtputf8: bool = True) -> OAuth2Relay:
        self._controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            enable_SMTPUTF8=smtputf8,
            # Cleartext on loopback for the test (a real relay requires TLS first); MAIL
            # without AUTH is refused by the handler.
            auth_require_tls=False,
        )
        self._controller.start()
        return self


@contextmanager
def running_token_server(lifetime: float = 3600.0) -> Iterator[TokenServer]:
    server = TokenServer(lifetime=lifetime).start()
    try:
        yield server
    finally:
        server.close()
