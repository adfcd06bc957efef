"""The routes of `/api/v1`, each with the scope its token needs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from mailtickets.endpoint.api import reads, reply, tickets
from mailtickets.endpoint.api.auth import guarded
from mailtickets.endpoint.api.context import ApiContext
from mailtickets.endpoint.api.openapi import document

Handler = Callable[[ApiContext, Request], Awaitable[Response]]


def api_routes(ctx: ApiContext) -> list[BaseRoute]:
    """`/api/v1/…`; the OpenAPI document needs a read token too: it names the site's agents."""

    def route(path: str, method: str, scope: str, handler: Handler) -> Route:
        async def bound(request: Request) -> Response:
            return await handler(ctx, request)

        return Route(path, guarded(ctx.tokens, scope, bound), methods=[method])

    served = document([agent.address for agent in ctx.pipeline.agents])

    async def openapi(_ctx: ApiContext, request: Request) -> Response:
        return JSONResponse(served)

    return [
        Mount(
            "/api/v1",
            routes=[
                route("/openapi.json", "GET", "read", openapi),
                route("/tickets", "GET", "read", tickets.list_),
                route("/tickets/{ticket_id}", "GET", "read", tickets.show),
                route("/tickets/{ticket_id}", "PATCH", "write", tickets.change),
                route(
                    "/tickets/{ticket_id}/attachments/{number}", "GET", "read", tickets.attachment
                ),
                route("/tickets/{ticket_id}/notes", "POST", "write", tickets.add_note),
                route("/tickets/{ticket_id}/replies", "POST", "write", reply.reply),
                route("/contacts/{address}", "GET", "read", reads.contact),
                route("/reports/sla", "GET", "read", reads.sla),
                route("/reports/{kind}", "GET", "read", reads.report),
            ],
        )
    ]
