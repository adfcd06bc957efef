"""`mailtickets tickets show|attachment`: one ticket whole, as text or JSON, or one of its
files saved.

Mostly the text layout of `tickets show`; the data comes from `services.views`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from mailtickets.cli import CliContext, fail
from mailtickets.cli.output import print_json, table, when
from mailtickets.db import files
from mailtickets.errors import NotFound
from mailtickets.services import tickets as service
from mailtickets.services.views import show_ticket

#: The longest value of an event's data shown in `tickets show` (JSON has it whole).
DETAIL = 120


@click.command("show")
@click.argument("ticket_id", type=int)
@click.option(
    "--full", is_flag=True, help="Print each message whole, quoted history and signature included."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def show(cli: CliContext, ticket_id: int, full: bool, as_json: bool) -> None:
    """Show one ticket: its people and tags, the conversation (what each sender wrote, or
    --full), the mail sent, the history."""
    app = cli.app()
    with app.sessions() as session:
        ticket = show_ticket(session, ticket_id)
    if as_json:
        print_json(ticket)
        return
    click.echo(f"#{ticket['id']} {ticket['subject']}")
    click.echo(
        f"status {ticket['status']}, priority {ticket['priority']}, queue {ticket['queue']}, "
        f"assignee {ticket['assignee'] or 'nobody'}"
    )
    if ticket["linked_ticket"]:
        click.echo(f"continues #{ticket['linked_ticket']}")
    click.echo(f"tags: {', '.join(ticket['tags']) or '-'}")
    people = [
        f"{_person(p['name'], p['address'])} ({p['role']}{', pending' if p['pending'] else ''})"
        for p in ticket["participants"]
    ]
    click.echo(f"participants: {', '.join(people) or '-'}")
    _conversation(ticket, full=full)
    click.echo("\noutgoing mail:" + ("" if ticket["outgoing"] else " none"))
    table(
        ("id", "status", "template", "to", "last error"),
        [
            (
                f"#{out['id']}",
                _delivery(out),
                out["template"],
                ", ".join(out["recipients"]),
                out["last_error"],
            )
            for out in ticket["outgoing"]
        ],
    )
    click.echo("\nhistory:")
    table(
        ("at", "event", "by", "details"),
        [(when(e["at"]), e["kind"], e["actor"], _details(e["data"])) for e in ticket["events"]],
    )


def _conversation(ticket: dict[str, Any], *, full: bool) -> None:
    outgoing = {out["message_id"]: out for out in ticket["outgoing"]}
    for message in ticket["messages"]:
        if message["direction"] == "out":
            out = outgoing[message["message_id"]]
            click.echo(
                f"\n--- {when(message['date'])}  out  {out['template']} to "
                f"{', '.join(out['recipients'])} ({_delivery(out)})"
            )
            continue
        click.echo(
            f"\n--- {when(message['date'])}  {message['direction']}  {message['kind']}  "
            f"{message['author']}"
        )
        text = message["body"] if full else message["new_text"]
        if text:
            click.echo(text.rstrip("\n"))
        for attachment in message["attachments"]:
            note = f" (not kept: {attachment['omitted']})" if attachment["omitted"] else ""
            click.echo(
                f"[file {attachment['number']}: {attachment['filename']}, "
                f"{attachment['size']} bytes{note}]"
            )


@click.command("attachment")
@click.argument("ticket_id", type=int)
@click.argument("number", type=click.IntRange(min=1))
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write, replaced if it exists; - for standard output.",
)
@click.pass_obj
def attachment(cli: CliContext, ticket_id: int, number: int, output: Path) -> None:
    """Save file NUMBER of a ticket, numbered as `tickets show` lists them, to --output."""
    from mailtickets.outbox.attachments import ticket_files  # the mail parser: this command's

    app = cli.app()
    with app.sessions() as session:
        listed = ticket_files(session, service.find(session, ticket_id))
        if number > len(listed):
            has = f"it has {len(listed)}" if listed else "it has none"
            raise NotFound(f"ticket #{ticket_id} has no file {number} ({has})")
        row = listed[number - 1].row
        content = files.read(session, [row.id]).get(row.id)
    if content is None:
        fail(f"file {number} of ticket #{ticket_id} ({row.filename}) was not kept: {row.omitted}")
    if str(output) == "-":
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
        return
    try:
        output.write_bytes(content)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
    click.echo(f"#{ticket_id} file {number}: {row.filename}, {len(content)} bytes in {output}")


def _person(name: str | None, address: str) -> str:
    return f"{name} <{address}>" if name else address


def _delivery(out: dict[str, Any]) -> str:
    return "held" if out["held"] else str(out["status"])


def _details(data: dict[str, Any]) -> str:
    """An event's data as `key=value` pairs, each value kept short."""
    shown = []
    for key, value in data.items():
        if value in (None, "", [], {}):
            continue
        if isinstance(value, list) and all(isinstance(v, str | int) for v in value):
            text = ", ".join(str(v) for v in value)
        elif isinstance(value, list | dict):
            text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        else:
            text = str(value)
        shown.append(f"{key}={text if len(text) <= DETAIL else text[: DETAIL - 1] + '…'}")
    return "  ".join(shown)


TICKET_COMMANDS = [show, attachment]
