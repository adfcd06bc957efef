"""A customer's history and the reports, as `mailtickets contacts show` and `report` give
them (`--json`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mailtickets.endpoint.api.context import ApiContext
from mailtickets.endpoint.api.errors import ApiError
from mailtickets.endpoint.api.params import query_text
from mailtickets.services import reports
from mailtickets.services.history import contact_history
from mailtickets.services.sla import report as sla_report

#: What a report covers when `since` is not given, as on the command line.
DEFAULT_PERIOD = timedelta(days=30)
REPORTS = (*reports.REPORTS, "sla")


async def contact(ctx: ApiContext, request: Request) -> Response:
    address = request.path_params["address"]
    if not address.isprintable() or "\x00" in address:
        raise ApiError(404, f"no contact {address!r}")

    def read() -> dict[str, Any]:
        with ctx.sessions() as session:
            return contact_history(session, address)

    return JSONResponse(await run_in_threadpool(read))


async def report(ctx: ApiContext, request: Request) -> Response:
    """`volume`, `agents` or `csat`, as `mailtickets report KIND --json`."""
    kind = request.path_params["kind"]
    runs = {"volume": reports.volume, "agents": reports.agents, "csat": reports.csat}
    if kind not in runs:
        raise ApiError(404, f"no report {kind!r}; there are {', '.join(REPORTS)}")
    since = _since(request, ctx.clock.now())

    def read() -> list[dict[str, Any]]:
        with ctx.sessions() as session:
            return runs[kind](session, since)

    return _report(kind, since, await run_in_threadpool(read))


async def sla(ctx: ApiContext, request: Request) -> Response:
    """As `mailtickets sla report --json`, for one queue when `queue` names it."""
    queue = query_text(request, "queue")
    now = ctx.clock.now()
    since = _since(request, now)

    def read() -> list[dict[str, Any]]:
        with ctx.sessions() as session:
            return sla_report.report(session, ctx.pipeline.sla, since, now, queue)

    return _report("sla", since, await run_in_threadpool(read))


def _report(kind: str, since: datetime, rows: list[dict[str, Any]]) -> Response:
    return JSONResponse({"report": kind, "since": since.isoformat(), "rows": rows})


def _since(request: Request, now: datetime) -> datetime:
    raw = request.query_params.get("since")
    if raw is None:
        return now - DEFAULT_PERIOD
    try:
        day = datetime.strptime(raw, "%Y-%m-%d")
    except ValueError as exc:
        raise ApiError(400, "since must be a day written YYYY-MM-DD") from exc
    return day.replace(tzinfo=UTC)
