"""Delivery records of contacts: an address that bounces hard is suppressed until lifted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailtickets.db.models import Contact
from mailtickets.errors import NotFound
from mailtickets.mail.addresses import normalise


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
