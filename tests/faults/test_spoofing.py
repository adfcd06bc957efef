"""Spoofing: forged agent From lines, replayed and tampered reply tokens, a stranger using a
ticket's subject tag, each mail carrying every command there is. No command runs, no mail
goes to a customer on the forger's word, a stranger's mail lands on no existing ticket
(mail from an agent's address that names one is kept there only as an unverified note,
for the agents), and no existing ticket changes state."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from mailtickets.db.models import Tag
from tests.faults.figures import Figures
from tests.support.helpdesk import Helpdesk
from tests.support.mail import compose

EVERY_COMMAND = (
    "#status closed\n#assign alice@acme.example\n#priority urgent\n#cc injected@evil.example\n"
    "#tag pwned\n#merge 2\n#note\n\nHello, this ticket is mine now.\n"
)
FORGED_FROMS = [
    "Alice <alice@acme.example>",  # the agent's own address, forged
    '"alice@acme.example" <mallory@evil.example>',
    "Mallory <mallory@evil.example>",
    "Bruno <bruno@acme.example>",  # another agent, not of this ticket's queue
    "Ana Cliente <ana@example.com>",  # the customer herself
]


def _state(desk: Helpdesk, ticket_id: int) -> dict[str, Any]:
    ticket = desk.ticket(ticket_id)
    with desk.app.sessions() as session:
        tags = sorted(session.scalars(select(Tag.name).where(Tag.ticket_id == ticket_id)))
    kept = ("status", "priority", "assignee", "participants", "customer", "linked_ticket")
    return {key: ticket[key] for key in kept} | {"tags": tags}


def _tampered(token_address: str) -> list[str]:
    local, _, domain = token_address.partition("@")
    flips = []
    for position in (len("support+"), len(local) // 2, len(local) - 1):
        char = local[position]
        flips.append(
            f"{local[:position]}{'0' if char != '0' else '1'}{local[position + 1 :]}@{domain}"
        )
    parts = local.split(".")
    parts[1] = "2"  # the same signature claimed for another ticket
    flips.append(f"{'.'.join(parts)}@{domain}")
    return flips


def _agent_addresses(desk: Helpdesk, ticket_id: int) -> list[str]:
    return [
        str(o.context["reply_to"])
        for o in desk.outbox(ticket_id)
        if o.template.startswith("agent/") and o.context.get("reply_to")
    ]


def test_forged_replayed_and_tampered_mail_runs_nothing(
    helpdesk: Helpdesk, figures: Figures
) -> None:
    desk = helpdesk
    first = desk.deliver(compose(subject="Printer on fire"))
    second = desk.deliver(compose(sender="Bia <bia@example.com>", subject="Other"))
    assert first.ticket_id is not None and second.ticket_id is not None
    (alice_address,) = _agent_addresses(desk, first.ticket_id)
    tickets = (first.ticket_id, second.ticket_id)
    before = {t: _state(desk, t) for t in tickets}
    customer_mail = len([o for o in desk.outbox() if o.template == "customer/agent_reply"])

    targets = {
        "the queue address": "support@acme.example",
        "Alice's captured reply address": alice_address,
        **{f"a tampered reply address ({n})": a for n, a in enumerate(_tampered(alice_address))},
    }
    tag = f"[ACME #{first.ticket_id}]"
    outcomes: list[str] = []
    intruded: list[str] = []  # a stranger's mail added to an existing ticket
    for sender in FORGED_FROMS:
        for address in targets.values():
            if sender.lower().endswith("<alice@acme.example>") and address == alice_address:
                continue  # the one genuine combination
            result = desk.deliver(
                compose(sender=sender, to=address, subject=f"Re: {tag} Printer on fire",
                        body=EVERY_COMMAND),
                rcpt=(address,),
            )  # fmt: skip
            outcomes.append(str(result.outcome))
            agents_address = sender.endswith(("<alice@acme.example>", "<bruno@acme.example>"))
            unverified = result.outcome == "unverified" and agents_address
            if result.ticket_id in tickets and "ana@example.com" not in sender and not unverified:
                intruded.append(f"{sender} via {address}: {result.outcome}")
    # A genuine address replayed after it expired (agents' addresses last 90 days).
    desk.clock.advance(timedelta(days=91))
    expired = desk.deliver(
        compose(sender="Alice <alice@acme.example>", to=alice_address, body=EVERY_COMMAND),
        rcpt=(alice_address,),
    )
    outcomes.append(str(expired.outcome))

    after = {t: _state(desk, t) for t in tickets}
    changed = [t for t in tickets if before[t] != after[t]]
    relayed = len([o for o in desk.outbox() if o.template == "customer/agent_reply"])
    ran = [o for o in outcomes if o in ("commands", "agent_reply", "note")]
    figures.tried = (
        f"{len(outcomes)} forged mails ({len(FORGED_FROMS)} senders x {len(targets)} "
        "addresses, plus an expired genuine address), each with every command and the "
        "ticket's subject tag"
    )
    figures.faults = len(outcomes)
    figures.note(f"outcomes: {dict(Counter(outcomes))}")
    figures.survived = (
        f"{len(ran)} ran as an agent, {len(intruded)} landed on an existing ticket, "
        f"{len(changed)} existing ticket(s) changed state, "
        f"{relayed - customer_mail} mail(s) sent to a customer on a forger's word"
    )
    assert ran == [] and intruded == []
    assert changed == []
    assert relayed == customer_mail
