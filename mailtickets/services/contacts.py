"""Delivery records of contacts: an address that bounces hard is suppressed until lifted.

Suppression needs evidence about the address itself: a delivery report, or a relay's answer
naming it (see `mail.refusals`). A suppression made by a relay's answer that later proves to
be about the relay — the answer blames it, or went alike to several addresses — is lifted
again by `lift_relay_refusals`.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailtickets.db.models import Contact
from mailtickets.errors import NotFound
from mailtickets.mail.addresses import normalise
from mailtickets.mail.refusals import ALIKE_WITHIN, Blame, blame, same_answer

#: Delayed-delivery reports (without word from the contact between them) that suppress.
SOFT_BOUNCE_LIMIT = 3
#: How the reason of a suppression made by the relay's answer to RCPT begins.
REFUSED = "refused by the relay: "


def suppress(session: Session, address: str, reason: str, now: datetime) -> Contact | None:
    """Stop automatic mail to `address`; None when it is not a contact of ours."""
    contact = session.scalar(select(Contact).where(Contact.address == normalise(address)))
    if contact is not None and contact.suppressed_at is None:
        contact.suppressed_at, contact.suppressed_reason = now, reason[:500]
        contact.updated_at = now
    return contact


def suppress_refused(session: Session, address: str, answer: str, now: datetime) -> None:
    """Suppress `address` on the relay's `answer` to its RCPT (recipient-specific: 5.1.x)."""
    suppress(session, address, REFUSED + answer, now)


def unsuppress(session: Session, address: str, now: datetime) -> str | None:
    """Allow automatic mail to `address` again; the reason it was suppressed, None if it was
    not."""
    contact = session.scalar(select(Contact).where(Contact.address == normalise(address)))
    if contact is None:
        raise NotFound(f"no contact {address}")
    reason = contact.suppressed_reason if contact.suppressed_at is not None else None
    if reason is not None:
        contact.suppressed_at = contact.suppressed_reason = None
        contact.updated_at = now
    return reason


def suppressions(session: Session) -> list[dict[str, Any]]:
    """Every suppressed address with its reason and date, newest first (JSON field names
    are a contract: README "Commands")."""
    rows = session.scalars(
        select(Contact)
        .where(Contact.suppressed_at.is_not(None))
        .order_by(Contact.suppressed_at.desc(), Contact.address)
    )
    return [
        {
            "address": contact.address,
            "name": contact.name,
            "reason": contact.suppressed_reason or "",
            "suppressed_at": contact.suppressed_at.isoformat() if contact.suppressed_at else None,
        }
        for contact in rows
    ]


def lift_relay_refusals(
    session: Session,
    now: datetime,
    *,
    same_as: str | None = None,
    since: datetime | None = None,
    among: set[str] | None = None,
) -> list[str]:
    """Lift the suppressions that a relay's answer about itself made; the addresses lifted.

    Without `same_as`: answers that blame the relay (older versions suppressed on them) and
    answers given alike to several addresses within `ALIKE_WITHIN` of one another. With
    `same_as`: answers equal to it, addresses aside, made since `since` — the sender has just
    seen the relay give it to others. `among` limits the lifting (not the comparing) to
    those addresses.
    """
    query = select(Contact).where(
        Contact.suppressed_at.is_not(None), Contact.suppressed_reason.startswith(REFUSED)
    )
    if since is not None:
        query = query.where(Contact.suppressed_at >= since)
    found = [
        (c, (c.suppressed_reason or "").removeprefix(REFUSED), c.suppressed_at or now)
        for c in session.scalars(query)
    ]
    if same_as is not None:
        wanted = same_answer(same_as)
        lifted = [c for c, answer, _ in found if same_answer(answer) == wanted]
    else:
        alike: dict[str, list[datetime]] = defaultdict(list)
        for _, answer, at in found:
            alike[same_answer(answer)].append(at)
        lifted = [
            c
            for c, answer, at in found
            if blame(answer) is Blame.RELAY
            or sum(abs(at - other) <= ALIKE_WITHIN for other in alike[same_answer(answer)]) > 1
        ]
    if among is not None:
        wanted_addresses = {normalise(a) for a in among}
        lifted = [c for c in lifted if c.address in wanted_addresses]
    for contact in lifted:
        contact.suppressed_at = contact.suppressed_reason = None
        contact.updated_at = now
    return [contact.address for contact in lifted]


def suppressed(session: Session, addresses: list[str]) -> dict[str, str]:
    """Which of `addresses` are suppressed, with the reason."""
    rows = session.execute(
        select(Contact.address, Contact.suppressed_reason).where(
            Contact.address.in_([normalise(a) for a in addresses]),
            Contact.suppressed_at.is_not(None),
        )
    )
    return {address: reason or "suppressed" for address, reason in rows}


def soft_bounce(session: Session, address: str, reason: str, now: datetime) -> Contact | None:
    """Count a delayed-delivery report; `SOFT_BOUNCE_LIMIT` of them suppress the address."""
    contact = session.scalar(select(Contact).where(Contact.address == normalise(address)))
    if contact is None:
        return None
    contact.soft_bounces += 1
    contact.updated_at = now
    if contact.soft_bounces >= SOFT_BOUNCE_LIMIT:
        suppress(
            session, address, f"{contact.soft_bounces} delayed deliveries; last: {reason}", now
        )
    return contact


def heard_from(contact: Contact) -> None:
    """The contact wrote to us, so mail reaches them: earlier delays count no more."""
    # Set only when it changes: a contact left untouched costs its transaction no flush.
    if contact.soft_bounces:
        contact.soft_bounces = 0
