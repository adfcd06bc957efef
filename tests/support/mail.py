"""Build test messages the way a mail client would."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTPUTF8
from email.utils import format_datetime

_SEQUENCE = itertools.count(1)
#: The Date of every composed message unless a test says otherwise.
DATE = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def compose(
    *,
    sender: str = "Ana Cliente <ana@example.com>",
    to: str = "support@acme.example",
    subject: str = "Printer on fire",
    body: str = "Hello,\n\nthe printer is on fire.\n\nAna\n",
    message_id: str | None = "auto",
    in_reply_to: str | None = None,
    references: list[str] | None = None,
    cc: str | None = None,
    headers: dict[str, str] | None = None,
    date: datetime | None = DATE,
) -> bytes:
    """A plain-text message; `message_id="auto"` makes a unique one, None leaves it out;
    `date` None leaves the Date header out."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    if cc:
        message["Cc"] = cc
    message["Subject"] = subject
    if date is not None:
        message["Date"] = format_datetime(date)
    if message_id == "auto":
        message_id = f"test-{next(_SEQUENCE)}@client.example"
    if message_id:
        message["Message-ID"] = f"<{message_id}>"
    if in_reply_to:
        message["In-Reply-To"] = f"<{in_reply_to}>"
    if references:
        message["References"] = " ".join(f"<{r}>" for r in references)
    message.set_content(body)
    # After set_content, which drops any Content-* header set before it.
    for name, value in (headers or {}).items():
        message[name] = value
    # An address that is not ASCII can only be written as UTF-8 (RFC 6532), as SMTPUTF8
    # clients do; the default policy would put an encoded word inside the address instead,
    # which no client sends and which is not that address.
    addresses = [sender, to, cc or ""]
    utf8 = any(not part.rpartition("<")[2].isascii() for part in addresses)
    return message.as_bytes(policy=SMTPUTF8) if utf8 else message.as_bytes()
