"""The HTTP side of the daemon: `/healthz`, `/metrics` and the JSON API, on uvicorn.

One `HttpServer` part per address, each a uvicorn server running as a task in the daemon's
own event loop (no thread of its own, no signal handlers of its own: the daemon owns
SIGTERM). `[metrics] listen` serves `/healthz` and `/metrics`; `[api] listen` serves those
and `/api/v1/…`; the same address for both is one server. Blocking work (the database, the
health of parts) runs in worker threads so that one slow request never holds up another.
"""

from mailtickets.endpoint.server import HttpServer
from mailtickets.endpoint.site import Site, servers

__all__ = ["HttpServer", "Site", "servers"]
