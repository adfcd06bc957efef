"""A customer's history and the reports, as `mailtickets contacts show` and `report` give
them (`--json`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mailtickets.endpoint.api.body import plain
from mailtickets.endpoint.api.context import ApiContext
from mailtickets.endpoint.api.errors import ApiError
from mailtickets.services import reports
from mailtickets.services.history import contact_history
from mailtickets.services.sla import report as sla_report

#: What a report covers when `since` is not given, as on the command line.
DEFAULT_PERIOD = timedelta(days=30)
REPORTS = (*reports.REPORTS, "sla")

Report = Callable[[Session, datetime, datetime], list[dict[str, Any]]]


async def contact(ctx: ApiContext, request: Request) -> Response:
    address = plain("address", request.path_params["address"])

    def read() -> dict[str, Any]:
        with ctx.sessions() as session:
            return contact_history(session, address)

    return JSONResponse(await run_in_threadpool(read))


async def report(ctx: ApiContext, request: Request) -> Response:
    kind = request.path_params["kind"]
    runs: dict[str, Report] = {
        "volume": lambda s, since, now: reports.volume(s, since),
        "agents": lambda s, since, now: reports.agents(s, since),
        "csat": lambda s, since, now: reports.csat(s, since),
        "sla": lambda s, since, now: sla_report.report(s, ctx.pipeline.sla, since, now, queue),
    }
    if kind not in runs:
        raise ApiError(404, f"no report {kind!r}; there are {', '.join(REPORTS)}")
    queue = request.query_params.get("queue")
    if queue is not None and kind != "sla":
        raise ApiError(400, "queue filters only the sla report")
    if queue is not None:
        queue = plain("queue", queue)
    now = ctx.clock.now()
    since = _since(request, now)

    def read() -> list[dict[str, Any]]:
        with ctx.sessions() as session:
            return runs[kind](session, since, now)

    return JSONResponse(
        {"report": kind, "since": since.isoformat(), "rows": await run_in_threadpool(read)}
    )


def _since(request: Request, now: datetime) -> datetime:
    raw = request.query_params.get("since")
    if raw is None:
        return now - DEFAULT_PERIOD
    try:
        day = datetime.strptime(raw, "%Y-%m-%d")
    except ValueError as exc:
        raise ApiError(400, "since must be a day written YYYY-MM-DD") from exc
    return day.replace(tzinfo=UTC)
