"""The JSON HTTP API, `/api/v1/…`: tickets, contacts and reports, behind bearer tokens.

It reads through `services.views` and the report services, changes tickets through
`services.tickets`, and an agent's reply goes through the same handler as a mailed one
(`reply`). Every error is a JSON object `{"error": code, "detail": text}`; `openapi` is the
document that describes it all, served at `/api/v1/openapi.json`.
"""

from mailtickets.endpoint.api.context import ApiContext
from mailtickets.endpoint.api.routes import api_routes

__all__ = ["ApiContext", "api_routes"]
