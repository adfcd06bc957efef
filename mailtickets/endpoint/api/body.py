"""A request's JSON body, read with a size cap and a deadline, checked field by field.

A client that sends too much is cut off at `MAX_BODY` (413); one that sends too slowly is
answered 408 after `BODY_TIMEOUT` seconds. Neither holds up anyone else: each connection
is its own task on the event loop.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Collection
from typing import Any

from starlette.requests import ClientDisconnect, Request

from mailtickets.endpoint.api.errors import ApiError

#: The largest body the API reads: a reply or note of this size is already a long letter.
MAX_BODY = 1024 * 1024
#: Seconds a client may take to send its whole body.
BODY_TIMEOUT = 30


async def json_object(request: Request, allowed: Collection[str]) -> dict[str, Any]:
    """The body as a JSON object whose keys are all in `allowed`."""
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media != "application/json":
        raise ApiError(415, "the body must be JSON, sent as Content-Type: application/json")
    raw = await _read(request)
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, f"the body is not valid JSON: {exc}", "invalid_json") from exc
    if not isinstance(value, dict):
        raise ApiError(422, "the body must be a JSON object")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise ApiError(
            422,
            f"unknown field(s): {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}",
            "unknown_field",
        )
    return value


async def _read(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise ApiError(413, f"the body is larger than {MAX_BODY} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(BODY_TIMEOUT):
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_BODY:
                    raise ApiError(413, f"the body is larger than {MAX_BODY} bytes")
                chunks.append(chunk)
    except TimeoutError as exc:
        raise ApiError(408, f"the body did not arrive within {BODY_TIMEOUT}s") from exc
    except ClientDisconnect as exc:
        raise ApiError(400, "the client went away before its body arrived") from exc
    return b"".join(chunks)


def text(body: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    """A non-empty string field; 422 naming `key` otherwise."""
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ApiError(422, f"{key} must be a non-empty string")
    return plain(key, value)


def plain(key: str, value: str) -> str:
    """`value`, if every database can store it: no NUL, no lone surrogate; 422 otherwise."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ApiError(422, f"{key} is not valid Unicode text") from exc
    if "\x00" in value:
        raise ApiError(422, f"{key} must not contain NUL characters")
    return value
