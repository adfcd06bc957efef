"""The new text of the message, without quoted history and signature: two steps.

`extract_new_text` applies the general quote stripping before the ticket is known (threading
by subject compares what a reply quotes). Once it is, `cut_our_words` takes an agent's reply
again from its whole body and cuts our own words first: the notices we sent that agent about
the ticket, found by their exact text wherever the agent's client put them (`mail.ourwords`),
which the general stripping cannot know. A reply that held nothing else, not even a file,
says so (`only_our_words`); one that quoted us is sent as its cut text, not its HTML.
"""

from __future__ import annotations

from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

from jinja2 import TemplateError
from sqlalchemy import select

from mailtickets.db.models import OutboundMessage, Ticket
from mailtickets.mail.htmltext import html_to_text
from mailtickets.mail.ourwords import has_words, without_our_words
from mailtickets.mail.quotes import new_text
from mailtickets.mail.subjects import is_forward
from mailtickets.mail.tokens import marker
from mailtickets.outbound.render import render
from mailtickets.pipeline.context import MessageContext

#: The latest mail of a ticket looked at for the agent's quote; they answer recent ones.
MAX_MAILS = 20


def extract_new_text(ctx: MessageContext) -> None:
    """The new text by the general rules; it runs before the ticket is known, since threading
    by subject compares what a reply quotes."""
    ctx.new_text = _stripped(ctx, ctx.mail.text)


def cut_our_words(ctx: MessageContext) -> None:
    """An agent's reply to a ticket, cut where our own mail about it begins."""
    if ctx.ticket is None or ctx.config.agent(ctx.sender_address) is None:
        return
    names = [ctx.queue.address, ctx.queue.name]
    cut = without_our_words(ctx.mail.text, _our_mail(ctx, ctx.ticket), names)
    if cut is None:
        return
    ctx.quoted_our_words = True
    if not has_words(cut):
        ctx.new_text = ""
        # A file sent with nothing else to say is still something to send.
        ctx.only_our_words = all(part.inline for part in ctx.mail.attachments)
        return
    ctx.new_text = _stripped(ctx, cut)


def _stripped(ctx: MessageContext, text: str) -> str:
    # A forward's quoted part is what the sender wants us to read.
    return text.strip() if is_forward(ctx.mail.subject) else new_text(text)


def _our_mail(ctx: MessageContext, ticket: Ticket) -> list[str]:
    """The texts of the latest mail we sent the sender about `ticket` (and the tickets
    merged into it): as sent, text and HTML, or rendered again if the bytes are gone."""
    merged = select(Ticket.id).where(Ticket.merged_into_id == ticket.id)
    rows = ctx.session.scalars(
        select(OutboundMessage)
        .where((OutboundMessage.ticket_id == ticket.id) | OutboundMessage.ticket_id.in_(merged))
        .order_by(OutboundMessage.id.desc())
        .limit(MAX_MAILS)
    )
    texts: list[str] = []
    for row in rows:
        if ctx.sender_address not in row.recipients:
            continue
        texts += _sent(row.raw) if row.raw else _rendered(ctx, row)
    return texts


def _sent(raw: bytes) -> list[str]:
    message = message_from_bytes(raw, policy=default)
    assert isinstance(message, EmailMessage)
    texts = []
    for kind in ("plain", "html"):
        part = message.get_body((kind,))
        if part is not None:
            content = str(part.get_content())
            texts.append(html_to_text(content) if kind == "html" else content)
    return texts


def _rendered(ctx: MessageContext, row: OutboundMessage) -> list[str]:
    try:
        rendered = render(ctx.config.templates, row.template, row.locale, row.context)
    except TemplateError:
        # An operator's template that no longer renders: that mail cannot be recognised,
        # and must not stop the agent's.
        return []
    ref = marker(ctx.config.secret, row.ticket_id) if row.ticket_id else ""
    texts = [f"{rendered.text}\n{ref}"]
    if rendered.html is not None:
        texts.append(html_to_text(rendered.html))
    return texts
