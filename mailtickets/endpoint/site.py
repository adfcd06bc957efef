"""Which servers the daemon runs, and what each serves.

`[metrics] listen` serves `/healthz` and `/metrics`, as it always did; `[api] listen` serves
those and the API. When both name the same address, one server serves it all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from mailtickets.endpoint.api import ApiContext, api_routes
from mailtickets.endpoint.api.errors import HANDLERS
from mailtickets.endpoint.server import HttpServer
from mailtickets.endpoint.status import status_routes
from mailtickets.health import Reporter
from mailtickets.metrics import Metrics


@dataclass(frozen=True)
class Site:
    metrics_listen: tuple[str, int] | None
    api_listen: tuple[str, int] | None
    #: What `/healthz` reports on: the daemon's parts, and what they share (OAuth2 tokens).
    reporters: Sequence[Reporter]
    metrics: Metrics
    api: ApiContext | None


def servers(site: Site) -> list[HttpServer]:
    """One server per address named, in the order: metrics, API."""
    status = status_routes(site.reporters, site.metrics)
    found: list[HttpServer] = []
    if site.metrics_listen is not None and site.metrics_listen != site.api_listen:
        found.append(HttpServer(site.metrics_listen, _app(status), "health, metrics"))
    if site.api_listen is not None and site.api is not None:
        routes = [*status, *api_routes(site.api)]
        found.append(HttpServer(site.api_listen, _app(routes), "api, health, metrics"))
    return found


def _app(routes: Sequence[BaseRoute]) -> Starlette:
    return Starlette(routes=list(routes), exception_handlers=HANDLERS)
