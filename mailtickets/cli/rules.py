"""`mailtickets rules test FILE.eml`: which `[[rule]]`s a message matches and what they do.

Reads only the configuration and the file: nothing is stored, nothing is sent.
"""

from __future__ import annotations

from pathlib import Path

import click

from mailtickets.cli import CliContext, fail
from mailtickets.mail.addresses import normalise
from mailtickets.mail.parse import parse
from mailtickets.mail.rules import Actions, Incoming, Routing, evaluate
from mailtickets.mail.spam import verdict


@click.group("rules")
def rules_group() -> None:
    """Routing rules ([[rule]] in the config)."""


@rules_group.command("test")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--sender", help="Envelope sender (default: none).")
@click.option(
    "--recipient", multiple=True, help="Envelope recipient (repeatable); To and Cc count too."
)
@click.pass_obj
def test(cli: CliContext, file: Path, sender: str | None, recipient: tuple[str, ...]) -> None:
    """Explain what the rules would do with the message in FILE, without storing it."""
    settings = cli.settings()
    try:
        mail = parse(file.read_bytes())
    except Exception as exc:  # noqa: BLE001  (any parse failure is the file's problem)
        fail(f"{file}: cannot parse the message: {type(exc).__name__}: {exc}")
    envelope = normalise(sender) if sender else None
    from_address = mail.from_address or envelope
    if from_address is None:
        fail(f"{file}: no From address; give --sender")
    headers = [*mail.headers("Delivered-To"), *mail.headers("X-Original-To")]
    recipients = (*(normalise(r) for r in recipient), *headers, *mail.to, *mail.cc)
    routing = evaluate(settings.rules, Incoming(mail, from_address, recipients))
    click.echo(f"{file}: from {from_address}, subject {mail.subject!r}")
    _explain(routing, len(settings.rules))
    spam = settings.spam
    why = verdict(
        mail,
        from_address,
        envelope,
        block=spam.block,
        allow=spam.allow,
        mta_headers=spam.mta_headers,
        rule=routing.spam_rule,
    )
    if why:
        click.echo(f"spam: {why}; the message would be quarantined and not acknowledged")
    elif routing.matched:
        click.echo(f"a new ticket would get: {_summary(routing)}")
    else:
        click.echo("no rule matches: the ticket would open in the queue it was sent to")


def _explain(routing: Routing, configured: int) -> None:
    for trace in routing.traces:
        verdict_word = "matches" if trace.matched else "no match"
        click.echo(f"rule {trace.rule.name!r}: {verdict_word}")
        for reason in trace.reasons:
            click.echo(f"    {reason}")
        if trace.matched:
            click.echo(f"    would: {trace.rule.actions.describe()}")
            if trace.rule.stop:
                click.echo("    stop: later rules are not looked at")
    skipped = configured - len(routing.traces)
    if skipped:
        click.echo(f"{skipped} later rule(s) not looked at")


def _summary(routing: Routing) -> str:
    final = Actions(
        queue=routing.queue,
        priority=routing.priority,
        tags=routing.tags,
        assignee=routing.assignee,
        macro=routing.macro,
    )
    return final.describe()


COMMANDS = [rules_group]
