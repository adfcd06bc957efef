"""Every API error as one JSON shape, `{"error": code, "detail": text}`, with its status.

Handlers raise `ApiError`; `NotFound` from the services is a 404; Starlette's own 404 and
405 keep their status in the same shape; a database that cannot be reached is a 503 to
retry; anything unexpected is answered 500 without its details, which go to the log.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ExceptionHandler

from mailtickets.errors import NotFound

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
}


class ApiError(Exception):
    """An answer other than success: `status`, a short `code` and a `detail` for people."""

    def __init__(
        self,
        status: int,
        detail: str,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail
        self.code = code or _CODES.get(status, "error")
        self.headers = headers


def error_response(error: ApiError) -> JSONResponse:
    body = {"error": error.code, "detail": error.detail}
    return JSONResponse(body, status_code=error.status, headers=error.headers)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def _not_found(request: Request, exc: Exception) -> Response:
    return error_response(ApiError(404, str(exc)))


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers) if exc.headers else None
    return error_response(ApiError(exc.status_code, exc.detail, headers=headers))


async def _database(request: Request, exc: Exception) -> Response:
    log.warning("%s %s: the database cannot be used: %s", request.method, request.url.path, exc)
    detail = "the database cannot be used now; try again"
    return error_response(ApiError(503, detail, "unavailable", headers={"Retry-After": "30"}))


async def _unexpected(request: Request, exc: Exception) -> Response:
    # Starlette raises it again once this answer is sent: uvicorn logs the traceback.
    log.error("%s %s failed: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
    return error_response(ApiError(500, "internal error; the daemon's log says why", "internal"))


HANDLERS: dict[type[Exception] | int, ExceptionHandler] = {
    ApiError: _api_error,
    NotFound: _not_found,
    HTTPException: _http,
    OperationalError: _database,
    Exception: _unexpected,
}
