"""Recognise mail that no human wrote: auto-replies, bulk and list mail, bounces, our own.

Such mail must never be acknowledged (RFC 3834), or two robots answer each other forever.
Only top-level headers count: a bounce quotes our own headers back at us.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection
from dataclasses import dataclass

from mailtickets.mail.parse import ParsedMail

LOOP_HEADER = "X-Mailtickets-Loop"
_KEYWORD = re.compile(r"[\s;(]")  # RFC 3834: a keyword, then parameters or a comment
_ROBOT_SENDERS = ("mailer-daemon", "postmaster")


class Automated(enum.StrEnum):
    AUTO_REPLY = "auto_reply"
    BULK = "bulk"
    BOUNCE = "bounce"
    OWN = "own"


@dataclass(frozen=True)
class Verdict:
    kind: Automated
    reason: str


def is_delivery_report(mail: ParsedMail) -> bool:
    message = mail.message
    return (
        message.get_content_type() == "multipart/report"
        and (message.get_param("report-type") or "").lower() == "delivery-status"  # type: ignore[union-attr]
    )


def classify(
    mail: ParsedMail,
    mail_from: str | None,
    own_addresses: Collection[str],
    own_domains: Collection[str],
) -> Verdict | None:
    """Why `mail` is automated, or None when a person wrote it."""
    if is_delivery_report(mail):
        return Verdict(Automated.BOUNCE, "delivery status notification")
    loop = mail.header(LOOP_HEADER)
    if loop is not None:
        ours = loop.strip().lower() in own_domains
        kind = Automated.OWN if ours else Automated.AUTO_REPLY
        return Verdict(kind, f"{LOOP_HEADER}: {loop.strip()[:100]}")
    if mail.from_address in own_addresses:
        return Verdict(Automated.OWN, f"sent from our own address {mail.from_address}")
    return _auto_reply(mail) or _robot_sender(mail, mail_from) or _bulk(mail)


def _auto_reply(mail: ParsedMail) -> Verdict | None:
    auto_submitted = (mail.header("Auto-Submitted") or "").strip().lower()
    keyword = _KEYWORD.split(auto_submitted, maxsplit=1)[0]
    if keyword and keyword != "no":
        return Verdict(Automated.AUTO_REPLY, f"Auto-Submitted: {auto_submitted[:100]}")
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"):
        value = mail.header(name)
        if value is not None:
            return Verdict(Automated.AUTO_REPLY, f"{name}: {value.strip()[:100]}")
    precedence = (mail.header("Precedence") or "").strip().lower()
    if precedence == "auto_reply":
        return Verdict(Automated.AUTO_REPLY, "Precedence: auto_reply")
    return None


def _robot_sender(mail: ParsedMail, mail_from: str | None) -> Verdict | None:
    if mail_from == "":
        return Verdict(Automated.AUTO_REPLY, "null return path")
    local = (mail.from_address or "").partition("@")[0]
    if local in _ROBOT_SENDERS:
        return Verdict(Automated.AUTO_REPLY, f"sent by {mail.from_address}")
    return None


def _bulk(mail: ParsedMail) -> Verdict | None:
    precedence = (mail.header("Precedence") or "").strip().lower()
    if precedence in ("bulk", "junk", "list"):
        return Verdict(Automated.BULK, f"Precedence: {precedence}")
    if mail.header("List-Id") is not None:
        return Verdict(Automated.BULK, "List-Id header")
    return None
