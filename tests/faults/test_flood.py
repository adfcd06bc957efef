"""A flood: one sender pushes a thousand messages within a minute over several connections,
while other customers keep writing. Every message opens its ticket, the flooder gets only
`max_acknowledgements_per_hour` acknowledgements, and every other customer gets theirs. The
agent gets a notice for the flooder's first `flood_threshold` messages and one that the flood
began, not a thousand; the other customers' notices go out as usual."""

from __future__ import annotations

import smtplib
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import select

from mailtickets.db.models import InboundMessage, OutboundMessage
from tests.faults.figures import Figures, scaled
from tests.faults.site import QUEUE, Site, wire
from tests.support.mail import compose

FLOODER = "flood@robot.example"
CONNECTIONS = 4
OTHERS = 10
LIMIT = 5
HALFWAY = "flood-100@"
AGENT = "alice@acme.example"
FLOOD_THRESHOLD = 20


def _send(port: int, batch: list[tuple[str, str]], halfway: threading.Event) -> list[int]:
    """Send `batch` on one connection; the flood's middle message sets `halfway`, for which
    the other customers wait."""
    if batch[0][0] != FLOODER:
        halfway.wait(60)
    codes = []
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
        client.ehlo()
        for sender, message_id in batch:
            raw = compose(sender=sender, subject=message_id, message_id=message_id)
            client.mail(sender)
            client.rcpt(QUEUE)
            codes.append(client.data(wire(raw))[0])
            if message_id.startswith(HALFWAY):
                halfway.set()
    return codes


def test_one_sender_floods_others_are_still_served(tmp_path: Path, figures: Figures) -> None:
    count = scaled(1000, 200)
    flood = [(FLOODER, f"flood-{n}@robot.example") for n in range(count)]
    others = [(f"customer{n}@example.com", f"other-{n}@example.com") for n in range(OTHERS)]
    # The other customers write in the middle of the flood, on connections of their own.
    batches = [flood[n::CONNECTIONS] for n in range(CONNECTIONS)] + [[o] for o in others]
    site = Site(
        tmp_path,
        tickets=f"max_acknowledgements_per_hour = {LIMIT}\n",
        # Every sender is on one address here: its share must hold all their connections.
        smtp=f"max_connections_per_client = {CONNECTIONS + OTHERS}\n",
        extra=f"[notifications]\nflood_threshold = {FLOOD_THRESHOLD}\n"
        f'[[agent]]\naddress = "{AGENT}"\nname = "Alice"\n',
    )
    halfway = threading.Event()
    with site.daemon(log_level="error") as daemon, ThreadPoolExecutor(len(batches)) as pool:
        answers = [pool.submit(_send, site.smtp_port, batch, halfway) for batch in batches]
        codes = [code for answer in answers for code in answer.result()]
        site.settle(timeout=240)
        assert daemon.stop() == 0, daemon.output

    on_tickets = site.ticket_message_ids()
    acknowledged = Counter(r for a in site.acknowledgements() for r in a.recipients)
    with site.sessions() as session:
        rows = session.execute(
            select(
                InboundMessage.mail_from, InboundMessage.received_at, InboundMessage.processed_at
            )
        ).all()
        outgoing = session.execute(select(OutboundMessage.template, OutboundMessage.recipients))
        told = Counter(template for template, recipients in outgoing if AGENT in recipients)
    site.close()
    waits = {
        sender == FLOODER: max(
            (p - r).total_seconds() for s, r, p in rows if (s == FLOODER) == (sender == FLOODER)
        )
        for sender in (FLOODER, others[0][0])
    }
    lost = [m for _, m in flood + others if on_tickets[m] != 1]
    figures.tried = (
        f"{count} messages from {FLOODER} over {CONNECTIONS} connections at once, "
        f"{OTHERS} other customers writing meanwhile"
    )
    figures.messages, figures.lost = count + OTHERS, len(lost)
    figures.note(
        f"acknowledgements: {acknowledged[FLOODER]} to the flooder (limit {LIMIT}/h), "
        f"{sum(acknowledged[s] for s, _ in others)} to the {OTHERS} others"
    )
    figures.note(
        f"longest accept-to-processed: flood {waits[True]:.1f}s, others {waits[False]:.1f}s "
        "(one worker, first come first served)"
    )
    figures.note(
        f"the agent's notices: {told['agent/new_ticket']} of new tickets, "
        f"{told['agent/flood']} that a flood began (threshold {FLOOD_THRESHOLD}/h)"
    )
    figures.survived = f"{count + OTHERS - len(lost)} tickets, one per message"
    assert codes == [250] * (count + OTHERS)
    assert lost == []
    assert acknowledged[FLOODER] == LIMIT
    assert all(acknowledged[s] == 1 for s, _ in others)
    assert told == {"agent/new_ticket": FLOOD_THRESHOLD + OTHERS, "agent/flood": 1}
