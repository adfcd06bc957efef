"""`[api]` and its `[[api.token]]`s: where the HTTP API listens and who may use it.

A token's value comes from the environment variable its `token_env` names, like every other
secret; a missing or guessable one is a problem naming the key, so that the daemon never
starts with an API nobody can use, or anyone could.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from mailtickets.config import reader as r
from mailtickets.config.settings import ApiSettings, ApiToken

SCOPES = ("read", "write")


def read_api(
    t: r.Table, env: Mapping[str, str], weakness: Callable[[str], str | None]
) -> ApiSettings:
    """The `[api]` table; `weakness` says why a token's value is too easy to guess."""
    listen = t.optional("listen", r.host_port)
    tokens = tuple(_token(item, env, weakness) for item in t.tables("token", "name"))
    t.finish()
    seen: set[str] = set()
    for token in tokens:
        if token.name in seen:
            t.problems.add(f"{t.label}.token.{token.name}", "name", "is used by another token")
        seen.add(token.name)
    values = [token.token for token in tokens if token.token]
    if len(set(values)) != len(values):
        t.problems.add(t.label, "token", "two tokens have the same value; give each its own")
    return ApiSettings(listen=listen, tokens=tokens)


def _token(t: r.Table, env: Mapping[str, str], weakness: Callable[[str], str | None]) -> ApiToken:
    name = t.get("name", r.nonempty, "", required=True)
    token_env = t.get("token_env", r.nonempty, "", required=True)
    scope = t.get("scope", r.choice(*SCOPES), "read")
    value = env.get(token_env, "") if token_env else ""
    if token_env and not value:
        t.problems.add(t.label, "token_env", f"environment variable {token_env} is not set")
    elif token_env and (why := weakness(value)):
        t.problems.add(t.label, "token_env", f"environment variable {token_env} {why}")
    t.finish()
    return ApiToken(name=name, scope=scope, token=value)
