"""Delivery records of contacts: an address that bounces hard is suppressed until lifted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailtickets.db.models import Contact
from mailtickets.errors import NotFound
from mailtickets.mail.addresses import normalise

#: Delayed-delivery reports (without word from the contact between them) that suppress.
SOFT_BOUNCE_LIMIT = 3


def suppress(session: Session, address: str, reason: str, now: datetime) -> Contact | None:
    """Stop automatic mail to `address`; None when it is not a contact of ours."""
    contact = session.scalar(select(Contact).where(Contact.address == normalise(address)))
    if contact is not None and contact.suppressed_at is None:
        contact.suppressed_at, contact.suppressed_reason = now, reason[:500]
        contact.updated_at = now
    return contact


def unsuppress(session: Session, address: str, now: datetime) -> Contact:
    contact = session.scalar(select(Contact).where(Contact.address == normalise(address)))
    if contact is None:
        raise NotFound(f"no contact {address}")
    contact.suppressed_at = contact.suppressed_reason = None
    contact.updated_at = now
    return contact


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
    contact.soft_bounces = 0
