"""Routing rules (`[[rule]]`), like Znuny's PostMaster filters: match a message, set fields.

Pure: rules are evaluated in order on a parsed message, its sender and its recipients, and
the result says which rules matched, why the others did not, and what the matching ones set.
A rule matches when every condition it has holds; a later match overrides the queue,
priority, assignee and macro an earlier one set, tags add up, and `stop` ends the evaluation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Only named: the configuration reads rules without paying for the mail parser.
    from mailtickets.mail.parse import ParsedMail

#: What a condition can look at, besides headers by name.
FIELDS = ("sender", "sender_domain", "recipient", "subject", "body")


@dataclass(frozen=True)
class Pattern:
    """A regular expression, or words (any of them, whole words); case never matters."""

    regex: re.Pattern[str]
    shown: str

    def search(self, values: Sequence[str]) -> str | None:
        """The first text in `values` this pattern finds, or None."""
        for value in values:
            found = self.regex.search(value)
            if found:
                return found.group(0)
        return None


def regex_pattern(text: str) -> Pattern:
    """A regular expression as written; raises `re.error` when it is not one."""
    return Pattern(re.compile(text, re.IGNORECASE), f"/{text}/")


def words_pattern(words: Sequence[str]) -> Pattern:
    """Any of `words` (or phrases) standing on its own, not inside a longer word."""
    alternatives = "|".join(re.escape(w.strip()) for w in words)
    return Pattern(
        re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE),
        " or ".join(repr(w) for w in words),
    )


def domains_pattern(domains: Sequence[str]) -> Pattern:
    """A domain or any of its subdomains, for the domain part of an address."""
    alternatives = "|".join(re.escape(d.strip().lower().lstrip(".")) for d in domains)
    return Pattern(
        re.compile(rf"(?:^|\.)(?:{alternatives})$", re.IGNORECASE),
        " or ".join(repr(d) for d in domains),
    )


@dataclass(frozen=True)
class Actions:
    queue: str | None = None
    priority: str | None = None
    tags: tuple[str, ...] = ()
    assignee: str | None = None
    macro: str | None = None
    spam: bool = False

    def describe(self) -> str:
        parts = [
            f"{name} {value}"
            for name, value in (
                ("queue", self.queue),
                ("priority", self.priority),
                ("assignee", self.assignee),
                ("automatic answer", self.macro),
            )
            if value
        ]
        parts += [f"tag {t}" for t in self.tags]
        if self.spam:
            parts.append("mark as spam")
        return ", ".join(parts)


@dataclass(frozen=True)
class Rule:
    name: str
    #: Field name (see FIELDS) or `header:<Name>` → what it must match.
    conditions: tuple[tuple[str, Pattern], ...]
    actions: Actions
    stop: bool = False


@dataclass(frozen=True)
class Trace:
    """One rule's verdict: why it matched (every condition) or the first condition that failed."""

    rule: Rule
    matched: bool
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Routing:
    """What the matching rules set, and the trace of every rule looked at."""

    traces: tuple[Trace, ...] = ()
    queue: str | None = None
    priority: str | None = None
    tags: tuple[str, ...] = ()
    assignee: str | None = None
    macro: str | None = None
    #: The rule that marked the message as spam, if one did.
    spam_rule: str | None = None
    matched: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Incoming:
    """What rules look at: the parsed mail with its sender and every recipient."""

    mail: ParsedMail
    sender: str
    recipients: tuple[str, ...]

    def values(self, what: str) -> list[str]:
        if what == "sender":
            return [self.sender]
        if what == "sender_domain":
            return [self.sender.rpartition("@")[2]]
        if what == "recipient":
            return list(self.recipients)
        if what == "subject":
            return [self.mail.subject]
        if what == "body":
            return [self.mail.text]
        return self.mail.headers(what.removeprefix("header:"))


def check(rule: Rule, incoming: Incoming) -> Trace:
    reasons = []
    for what, pattern in rule.conditions:
        found = pattern.search(incoming.values(what))
        if found is None:
            return Trace(rule, False, (f"{what} does not match {pattern.shown}",))
        reasons.append(f"{what} matches {pattern.shown} ({found[:60]!r})")
    return Trace(rule, True, tuple(reasons))


def evaluate(rules: Sequence[Rule], incoming: Incoming) -> Routing:
    """Run `rules` in order on `incoming`; rules after a matching `stop` rule are not looked at."""
    traces: list[Trace] = []
    routing = Routing()
    for rule in rules:
        trace = check(rule, incoming)
        traces.append(trace)
        if not trace.matched:
            continue
        a = rule.actions
        routing = Routing(
            queue=a.queue or routing.queue,
            priority=a.priority or routing.priority,
            tags=tuple(dict.fromkeys((*routing.tags, *a.tags))),
            assignee=a.assignee or routing.assignee,
            macro=a.macro or routing.macro,
            spam_rule=routing.spam_rule or (rule.name if a.spam else None),
            matched=(*routing.matched, rule.name),
        )
        if rule.stop:
            break
    return replace(routing, traces=tuple(traces))
