"""Threading accuracy: the conversation corpus played against a real `mailtickets run`.

Turn by turn, in order, over SMTP: each writer answers the mail they actually received from
the daemon through the relay sink (an agent their notice, on its signed Reply-To; a customer
our last mail about their conversation, or their own last mail), and the next turn waits
until the daemon has processed the message and sent what it caused. A message is in the
right ticket when it is in the ticket its conversation's new request opened; a new request
is right when it opened a ticket of its own. Accuracy is reported by kind and over all.
"""

from __future__ import annotations

import re
import smtplib
import tempfile
import time
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from email.utils import parsedate_to_datetime
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

from bench.clients import Mail, own_mail, write
from bench.corpus import SUBJECT_PREFIX, Turn, conversations
from bench.figures import Figure, Scale, Target
from bench.site import AGENTS, POLL_SECONDS, Site, site
from tests.support.relay import Received

TARGET = 99.5
KINDS = {
    "new": "new requests",
    "agent_answer": "agent answers, on the notice's reply address",
    "reply_to_reply_address": "replies to our Reply-To",
    "reply_threaded": "replies with In-Reply-To and References",
    "reply_references_only": "replies with References only",
    "reply_in_reply_to_only": "replies with In-Reply-To only",
    "reply_tag_only": "replies with only the subject tag",
    "reply_bare_quoted": "replies with no reference and no tag, quoting our mail",
    "reply_bare": "replies with no reference, no tag and no quote",
    "follow_up_own": "follow-ups to the customer's own mail, with references",
    "follow_up_own_bare": "follow-ups quoting the customer's own mail, no reference",
    "auto_reply": "auto-replies with In-Reply-To",
    "auto_reply_tag_only": "auto-replies with only the subject tag",
}
_TAG = re.compile(rf"\[{SUBJECT_PREFIX} #(\d+)\]")


@dataclass(frozen=True)
class Landed:
    """Where a turn's message ended: its ticket (None: none) and the pipeline's outcome."""

    ticket: int | None
    outcome: str | None


@dataclass
class Conversation:
    """What the writers of one conversation hold: its ticket, our last mail to the customer
    and to the agent about it, and the customer's own last mail."""

    ticket: int | None = None
    to_customer: Mail | None = None
    to_agent: Mail | None = None
    own: Mail | None = None


def measure(scale: Scale) -> list[Figure]:
    turns = conversations(scale.corpus)
    with tempfile.TemporaryDirectory(dir=scale.work) as directory:
        url = f"sqlite:///{directory}/mailtickets.db"
        with site(Path(directory), url) as here:
            landed = play(here, turns)
    return figures(turns, landed)


def play(here: Site, turns: list[Turn]) -> dict[int, Landed]:
    """Send every turn in order; where each landed, by turn number."""
    engine = create_engine(here.url)
    threads: dict[int, Conversation] = {}
    landed: dict[int, Landed] = {}
    sent = seen = 0
    try:
        with smtplib.SMTP("127.0.0.1", here.smtp_port, timeout=120) as smtp:
            for turn in turns:
                thread = threads.setdefault(turn.thread, Conversation())
                ours = thread.to_agent if turn.kind == "agent_answer" else thread.to_customer
                written = write(turn, ours, thread.own)
                if written is None:
                    landed[turn.number] = Landed(None, "not written: nothing to answer")
                    continue
                smtp.sendmail(written.mail_from, [written.rcpt], written.raw)
                sent += 1
                _settle(engine, here, sent)
                landed[turn.number] = _landed(engine, turn.message_id)
                if turn.kind == "new":
                    thread.ticket = landed[turn.number].ticket
                if turn.kind != "agent_answer" and not turn.kind.startswith("auto_reply"):
                    thread.own = own_mail(turn)
                seen = _file_mail(here.relay.received, seen, threads)
    finally:
        engine.dispose()
    return landed


def _settle(engine: Engine, here: Site, sent: int, timeout: float = 120) -> None:
    """Wait until `sent` messages are processed and all they caused reached the relay."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            processed, unsent, delivered = connection.execute(
                text(
                    "SELECT"
                    " (SELECT count(*) FROM inbound_message WHERE status <> 'pending'),"
                    " (SELECT count(*) FROM outbound_message WHERE status = 'pending'),"
                    " (SELECT count(*) FROM outbound_message WHERE status = 'sent')"
                )
            ).one()
        if processed >= sent and not unsent and len(here.relay.received) >= delivered:
            return
        time.sleep(POLL_SECONDS)
    raise TimeoutError(f"message {sent} was not processed and answered in {timeout} s")


def _landed(engine: Engine, message_id: str) -> Landed:
    with engine.connect() as connection:
        ticket, outcome = connection.execute(
            text("SELECT ticket_id, outcome FROM inbound_message WHERE message_id = :id"),
            {"id": message_id},
        ).one()
    return Landed(ticket, outcome)


def _file_mail(received: list[Received], seen: int, threads: dict[int, Conversation]) -> int:
    """File the mail the relay got since `seen` under the conversations it is about; the
    number of mails filed so far."""
    by_ticket = {c.ticket: c for c in threads.values() if c.ticket is not None}
    for item in received[seen:]:
        message = message_from_bytes(item.raw, policy=default)
        assert isinstance(message, EmailMessage)
        tag = _TAG.search(str(message["Subject"]))
        conversation = by_ticket.get(int(tag[1])) if tag else None
        if conversation is None:
            continue
        # The notice to the ticket's agent (the assignee, by default the only one told).
        if len(item.recipients) == 1 and item.recipients[0] in AGENTS:
            conversation.to_agent = _mail(message, agent=item.recipients[0])
        elif not AGENTS & set(item.recipients):
            conversation.to_customer = _mail(message)
    return len(received)


def _mail(message: EmailMessage, agent: str | None = None) -> Mail:
    body = message.get_body(("plain",))
    assert isinstance(body, EmailMessage)
    reply_to = message["Reply-To"]
    return Mail(
        message_id=str(message["Message-ID"]).strip("<>"),
        subject=str(message["Subject"]),
        sender=str(message["From"]),
        date=parsedate_to_datetime(str(message["Date"])),
        text=body.get_content(),
        reply_to=reply_to.addresses[0].addr_spec if reply_to else None,
        agent=agent,
    )


def figures(turns: list[Turn], landed: dict[int, Landed]) -> list[Figure]:
    """Accuracy by kind and over all, in percent."""
    # A conversation's ticket is the one its new request opened; none if it opened none.
    opened = {
        t.number: landed[t.number].ticket
        for t in turns
        if t.kind == "new" and landed[t.number].outcome == "new_ticket"
    }
    right = {
        t.number: landed[t.number].ticket is not None
        and landed[t.number].ticket == opened.get(t.thread)
        for t in turns
    }
    conversations_count = sum(1 for t in turns if t.kind == "new")
    result = [
        Figure(
            "threading",
            "Threading: messages in the ticket of their conversation "
            f"({len(turns)} messages, {conversations_count} conversations)",
            "%",
            (_share(right, turns),),
            Target(TARGET, higher_is_better=True, if_missed=_misses(turns, right)),
        )
    ]
    for kind, label in KINDS.items():
        of_kind = [t for t in turns if t.kind == kind]
        if of_kind:
            result.append(
                Figure(
                    f"threading_{kind}",
                    f"Threading: {label} ({len(of_kind)})",
                    "%",
                    (_share(right, of_kind),),
                )
            )
    generic = [t for t in turns if t.kind == "reply_bare" and t.generic]
    if generic:
        result.append(
            Figure(
                "threading_reply_bare_generic",
                f"Threading: of those, with a generic subject ({len(generic)})",
                "%",
                (_share(right, generic),),
                note="a new ticket by design",
            )
        )
    return result


def _share(right: dict[int, bool], turns: list[Turn]) -> float:
    return sum(right[t.number] for t in turns) / len(turns) * 100


def _misses(turns: list[Turn], right: dict[int, bool]) -> str:
    """What the misses were: the rule's refusals, mail that followed them, anything else."""
    refused = [t for t in turns if not right[t.number] and t.kind == "reply_bare" and t.generic]
    first_refusal: dict[int, int] = {}
    for turn in refused:
        first_refusal.setdefault(turn.thread, turn.number)
    after = [
        t
        for t in turns
        if not right[t.number]
        and t not in refused
        and t.number > first_refusal.get(t.thread, len(turns))
    ]
    other = sum(1 for t in turns if not right[t.number]) - len(refused) - len(after)
    parts = [
        f"{len(refused)} replies with a generic subject (Help, Ajuda, none…) and no reference, "
        "tag or quote, which open a new ticket by design (naming the ticket they may "
        "continue): nothing in them tells one of the customer's requests from another",
        f"{len(after)} later mail of the same conversations that answers the ticket those opened",
        f"{other} other",
    ]
    return "; ".join(part for part in parts if not part.startswith("0 "))
