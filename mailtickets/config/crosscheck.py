"""Checks that span sections: one function per kind of reference or uniqueness rule.

Each check looks at the finished `Settings` and returns its problems; `cross_check` runs them
all, in a fixed order so that messages come out the same way every time. References inside
`[[rule]]` tables are checked where they are read (`config.rules`), where the key path is
known.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import NamedTuple

from mailtickets.config.reader import Problems
from mailtickets.config.settings import Settings


class Problem(NamedTuple):
    label: str
    key: str
    reason: str


Check = Callable[[Settings], Iterable[Problem]]


def cross_check(problems: Problems, settings: Settings) -> None:
    """Record every problem the checks below find in `settings`."""
    for check in _CHECKS:
        for problem in check(settings):
            problems.add(*problem)


def _some_queue(s: Settings) -> list[Problem]:
    if s.queues:
        return []
    return [Problem("", "queue", "at least one [[queue]] is required")]


def _shared_secret(s: Settings) -> list[Problem]:
    if s.tickets.secret is not None or s.database.url.startswith("sqlite"):
        return []
    # A generated key lives on one host; instances sharing a database must share it, or
    # one's reply addresses and Message-IDs are forgeries to the other.
    reason = f"environment variable {s.tickets.secret_env} must be set with a shared database"
    return [Problem("tickets", "secret_env", reason)]


def _unique_queue_addresses(s: Settings) -> list[Problem]:
    addresses = [q.address.lower() for q in s.queues]
    addresses += [a.lower() for q in s.queues for a in q.aliases]
    return [
        Problem("queue", "address", f"{dup} is used by more than one queue")
        for dup in _duplicates(addresses)
    ]


def _queue_slas(s: Settings) -> list[Problem]:
    names = {p.name for p in s.slas}
    return [
        Problem(f"queue.{q.address}", "sla", f'no [[sla]] is named "{q.sla}"')
        for q in s.queues
        if q.sla is not None and q.sla not in names
    ]


def _imap_queues(s: Settings) -> list[Problem]:
    refs = _queue_refs(s)
    return [
        Problem(f"imap.{box.name}", "queue", f"{box.queue} is not a [[queue]] address")
        for box in s.imap
        if box.queue is not None and box.queue.lower() not in refs
    ]


def _agent_queues(s: Settings) -> list[Problem]:
    refs = _queue_refs(s)
    return [
        Problem(f"agent.{agent.address}", "queues", f'no [[queue]] "{ref}"')
        for agent in s.agents
        for ref in agent.queues
        if ref.lower() not in refs and ref not in refs
    ]


def _sla_calendars(s: Settings) -> list[Problem]:
    names = {c.name for c in s.calendars} | {"24/7"}
    return [
        Problem(f"sla.{p.name}", "calendar", f'no [[calendar]] is named "{p.calendar}"')
        for p in s.slas
        if p.calendar not in names
    ]


def _queue_rotas(s: Settings) -> list[Problem]:
    names = {r.rota.name for r in s.rotas}
    return [
        Problem(f"queue.{q.address}", "on_call", f'no [[rota]] is named "{q.on_call}"')
        for q in s.queues
        if q.on_call is not None and q.on_call not in names
    ]


def _rota_agents(s: Settings) -> list[Problem]:
    agents = {a.address.lower() for a in s.agents}
    problems = []
    for entry in s.rotas:
        rota = entry.rota
        named = [*rota.agents, *(shift.agent for shift in rota.shifts)]
        for address in dict.fromkeys(named):
            if address not in agents:
                problems.append(
                    Problem(f"rota.{rota.name}", "agents", f"{address} is not an [[agent]]")
                )
    problems += [
        Problem("rota", "name", f'"{dup}" is used by more than one rota')
        for dup in _duplicates([r.rota.name for r in s.rotas])
    ]
    return problems


def _unique_imap_names(s: Settings) -> list[Problem]:
    return [
        Problem("imap", "name", f'"{dup}" is used by more than one mailbox')
        for dup in _duplicates([box.name for box in s.imap])
    ]


def _agent_digests(s: Settings) -> list[Problem]:
    if s.scheduler.digest_at is not None:
        return []
    return [
        Problem("agent", "digest", f'{a.address}: "daily" needs [scheduler] digest_at, the hour')
        for a in s.agents
        if a.digest == "daily"
    ]


def _queue_refs(s: Settings) -> set[str]:
    """What may name a queue elsewhere: its address (any case) or its name."""
    return {q.address.lower() for q in s.queues} | {q.name for q in s.queues}


def _duplicates(items: list[str]) -> list[str]:
    return sorted({item for item in items if items.count(item) > 1})


_CHECKS: tuple[Check, ...] = (
    _some_queue,
    _shared_secret,
    _unique_queue_addresses,
    _queue_slas,
    _imap_queues,
    _agent_queues,
    _sla_calendars,
    _unique_imap_names,
    _queue_rotas,
    _rota_agents,
    _agent_digests,
)
