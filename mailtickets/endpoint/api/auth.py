"""Bearer tokens: who is asking, and whether their scope allows what they ask.

Every configured token is compared, each in constant time (`hmac.compare_digest`), so the
time an answer takes says nothing about how much of a token was right.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Sequence

from starlette.requests import Request
from starlette.responses import Response

from mailtickets.config.settings import ApiToken
from mailtickets.endpoint.api.errors import ApiError

log = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="mailtickets"'}


def caller(tokens: Sequence[ApiToken], authorization: str | None) -> ApiToken:
    """The token an `Authorization: Bearer …` header presents; 401 when none matches."""
    scheme, _, presented = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise ApiError(401, "an Authorization: Bearer token is required", headers=_CHALLENGE)
    given = presented.strip().encode()
    found = None
    for token in tokens:
        if hmac.compare_digest(given, token.token.encode()) and found is None:
            found = token
    if found is None:
        raise ApiError(401, "the bearer token is not one of ours", headers=_CHALLENGE)
    return found


def guarded(tokens: Sequence[ApiToken], scope: str, handler: Handler) -> Handler:
    """`handler`, answered only for a token whose scope is `scope` or wider."""

    async def endpoint(request: Request) -> Response:
        token = caller(tokens, request.headers.get("authorization"))
        if scope == "write" and token.scope != "write":
            raise ApiError(403, f"token {token.name} may only read")
        request.state.token = token
        return await handler(request)

    return endpoint
