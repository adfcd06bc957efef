"""Path and query parameters, each checked with an answer that names it."""

from __future__ import annotations

from starlette.requests import Request

from mailtickets.endpoint.api.errors import ApiError

#: Ids beyond this fit no id column (PostgreSQL's are 32-bit): no such ticket.
MAX_ID = 2**31 - 1


def path_number(request: Request, name: str, what: str) -> int:
    """A positive number in the path; 404 for anything else (nothing is named so)."""
    raw = request.path_params[name]
    if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) <= MAX_ID:
        raise ApiError(404, f"no {what} {raw!r}")
    return int(raw)


def query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise ApiError(400, f"{name} must be a whole number from {low} to {high}")
    return int(raw)


def query_text(request: Request, name: str) -> str | None:
    """A text parameter (decoded as UTF-8, invalid bytes replaced); 400 for one with a NUL,
    which no database compares."""
    raw = request.query_params.get(name)
    if raw is not None and "\x00" in raw:
        raise ApiError(400, f"{name} must be text without NUL characters")
    return raw


def query_flag(request: Request, name: str) -> bool:
    raw = request.query_params.get(name, "false").lower()
    if raw not in ("true", "false"):
        raise ApiError(400, f"{name} must be true or false")
    return raw == "true"


def after_cursor(request: Request) -> int | None:
    """The ticket a page starts after: the `next_cursor` of the page before."""
    raw = request.query_params.get("cursor")
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or int(raw) > MAX_ID:
        raise ApiError(400, "cursor must be the next_cursor of the page before")
    return int(raw)
