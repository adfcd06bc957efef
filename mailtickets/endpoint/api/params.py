"""Path and query parameters, each checked with an answer that names it."""

from __future__ import annotations

import base64
import binascii

from starlette.requests import Request

from mailtickets.endpoint.api.errors import ApiError

#: Ids beyond this fit no database column: no such ticket.
MAX_ID = 2**63 - 1


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


def query_flag(request: Request, name: str) -> bool:
    raw = request.query_params.get(name, "false").lower()
    if raw not in ("true", "false"):
        raise ApiError(400, f"{name} must be true or false")
    return raw == "true"


def cursor_for(ticket_id: int) -> str:
    """An opaque cursor: the page after it starts past `ticket_id`."""
    return base64.urlsafe_b64encode(f"t{ticket_id}".encode()).decode().rstrip("=")


def after_cursor(request: Request) -> int | None:
    raw = request.query_params.get("cursor")
    if raw is None:
        return None
    try:
        decoded = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    number = decoded[1:]
    if not decoded.startswith("t") or not number.isdigit() or int(number) > MAX_ID:
        raise ApiError(400, "cursor is not one this API gave out")
    return int(number)
