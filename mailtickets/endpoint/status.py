"""`/healthz` (each part's state; 503 when one is down) and `/metrics` (Prometheus text)."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mailtickets.health import Reporter
from mailtickets.metrics import Metrics


def status_routes(reporters: Sequence[Reporter], metrics: Metrics) -> list[Route]:
    """The two routes; both read what they report in a worker thread (the database)."""

    def healthz() -> JSONResponse:
        states = {part.name: part.health() for part in reporters}
        ok = all(state.ok for state in states.values())
        body = {
            "status": "ok" if ok else "down",
            "parts": {name: {"ok": s.ok, "detail": s.detail} for name, s in states.items()},
        }
        return JSONResponse(body, status_code=200 if ok else 503)

    async def get_healthz(request: Request) -> Response:
        return await run_in_threadpool(healthz)

    async def get_metrics(request: Request) -> Response:
        body = await run_in_threadpool(generate_latest, metrics.registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return [
        Route("/healthz", get_healthz, methods=["GET"]),
        Route("/metrics", get_metrics, methods=["GET"]),
    ]
