"""Read `[[rule]]` tables: conditions under `[rule.match]`, actions under `[rule.set]`.

Every reference is checked here, where the key path can be named: a queue or agent that does
not exist, a macro without a template, a regular expression that does not compile.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from mailtickets.config import reader as r
from mailtickets.config.settings import PRIORITIES, AgentSettings, QueueSettings
from mailtickets.mail.commands import MAX_WORD
from mailtickets.mail.rules import (
    FIELDS,
    Actions,
    Pattern,
    Rule,
    domains_pattern,
    regex_pattern,
    words_pattern,
)
from mailtickets.resources import resource_dir

_WORD = re.compile(rf"^[\w-]{{1,{MAX_WORD}}}$")
_HEADER_NAME = re.compile(r"^[!-9;-~]+$")  # RFC 5322 field name: printable, no colon


def read_rules(
    tables: Iterable[r.Table],
    queues: Sequence[QueueSettings],
    agents: Sequence[AgentSettings],
    template_dir: Path | None,
) -> tuple[Rule, ...]:
    rules: list[Rule] = []
    for t in tables:
        rule = _rule(t, queues, agents, template_dir)
        if any(rule.name == seen.name for seen in rules):
            t.problems.add(t.label, "name", f'"{rule.name}" is used by more than one rule')
        rules.append(rule)
    return tuple(rules)


def _rule(
    t: r.Table,
    queues: Sequence[QueueSettings],
    agents: Sequence[AgentSettings],
    template_dir: Path | None,
) -> Rule:
    name = t.get("name", r.nonempty, "", required=True)
    stop = t.get("stop", r.boolean, False)
    conditions = _conditions(t.table("match"))
    actions = _actions(t.table("set"), queues, agents, template_dir)
    t.finish()
    if not conditions:
        t.problems.add(t.label, "match", "needs at least one condition")
    if actions == Actions():
        t.problems.add(t.label, "set", "needs at least one action")
    return Rule(name, conditions, actions, stop)


def _conditions(t: r.Table) -> tuple[tuple[str, Pattern], ...]:
    found: list[tuple[str, Pattern]] = []
    for what in FIELDS:
        kind = _domains if what == "sender_domain" else _pattern
        pattern = t.optional(what, kind)
        if pattern is not None:
            found.append((what, pattern))
    for header, pattern in (t.optional("headers", _headers) or {}).items():
        found.append((f"header:{header}", pattern))
    t.finish()
    return tuple(found)


def _pattern(value: object) -> Pattern:
    if isinstance(value, str):
        try:
            return regex_pattern(r.nonempty(value))
        except re.error as exc:
            raise ValueError(f"is not a regular expression: {exc}") from exc
    if isinstance(value, list) and value and all(isinstance(v, str) and v.strip() for v in value):
        return words_pattern([str(v) for v in value])
    raise ValueError('must be a regular expression ("…") or a list of words (["…", "…"])')


def _domains(value: object) -> Pattern:
    domains = [value] if isinstance(value, str) else value
    if not isinstance(domains, list) or not domains:
        raise ValueError('must be a domain or a list of domains, such as ["example.com"]')
    for domain in domains:
        if not isinstance(domain, str) or not domain.strip() or re.search(r"[\s@]", domain):
            raise ValueError('must be a domain or a list of domains, such as ["example.com"]')
    return domains_pattern([str(d) for d in domains])


def _headers(value: object) -> dict[str, Pattern]:
    if not isinstance(value, dict) or not value:
        raise ValueError('must be a table such as { "X-Priority" = "^1" }')
    patterns = {}
    for name, spec in value.items():
        if not _HEADER_NAME.match(str(name)):
            raise ValueError(f"{name!r} is not a header name")
        try:
            patterns[str(name)] = _pattern(spec)
        except ValueError as exc:
            raise ValueError(f"header {name}: {exc}") from exc
    return patterns


def _tag(value: object) -> str:
    text = r.string(value).strip().lower()
    if not _WORD.match(text):
        raise ValueError(f"must be words of letters, digits, - and _ (at most {MAX_WORD})")
    return text


def _actions(
    t: r.Table,
    queues: Sequence[QueueSettings],
    agents: Sequence[AgentSettings],
    template_dir: Path | None,
) -> Actions:
    queue = t.optional("queue", r.nonempty)
    assignee = t.optional("assignee", r.address)
    macro = t.optional("macro", _tag)
    actions = Actions(
        queue=_queue_address(t, queue, queues),
        priority=t.optional("priority", r.choice(*PRIORITIES)),
        tags=t.get("tags", r.list_of(_tag), ()),
        assignee=assignee.lower() if assignee else None,
        macro=macro,
        spam=t.get("spam", r.boolean, False),
    )
    if assignee is not None and all(a.address.lower() != actions.assignee for a in agents):
        t.problems.add(t.label, "assignee", f"{assignee} is not an [[agent]]")
    if macro is not None and not _macro_exists(macro, template_dir):
        t.problems.add(t.label, "macro", f"no template <locale>/macros/{macro}.txt.j2")
    t.finish()
    return actions


def _queue_address(t: r.Table, ref: str | None, queues: Sequence[QueueSettings]) -> str | None:
    """The address of the queue `ref` names (by address or name)."""
    if ref is None:
        return None
    for queue in queues:
        if ref.lower() == queue.address.lower() or ref == queue.name:
            return queue.address.lower()
    t.problems.add(t.label, "queue", f'no [[queue]] "{ref}"')
    return None


def _macro_exists(name: str, template_dir: Path | None) -> bool:
    roots = [d for d in (template_dir, resource_dir("templates")) if d is not None]
    return any(next(root.glob(f"*/macros/{name}.txt.j2"), None) for root in roots)
