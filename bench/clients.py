"""How customers, their mail clients and an agent write each turn of the threading corpus.

A reply answers a mail the writer has: ours as it reached them (its Message-ID, Reply-To,
tagged subject and text), or the customer's own earlier mail from their Sent folder. What
each kind keeps of it:

| kind | to | In-Reply-To / References | subject | quote |
|---|---|---|---|---|
| reply_to_reply_address | our Reply-To | both | Re: + ours (tag) | all |
| reply_threaded | queue | both | Re: + ours (tag) | all |
| reply_references_only | queue | References | Re: + ours (tag) | the top |
| reply_in_reply_to_only | queue | In-Reply-To | Re: + ours (tag) | none |
| reply_tag_only | queue | none | Re: + ours (tag) | the top, or none |
| reply_bare_quoted | queue | none | Re: + the subject | the top |
| reply_bare | queue | none | Re: + the subject | none |
| follow_up_own | queue | both, to their own | Re: + the subject | all of their own |
| follow_up_own_bare | queue | none | Re: + the subject | all of their own |
| auto_reply | queue | In-Reply-To | Automatic reply: + ours | none |
| auto_reply_tag_only | queue | none | Automatic reply: + ours | none |

"The top" is what phone clients and trimming customers leave: the first lines of our mail,
never the reference marker at its end. Quotes come in the styles of Gmail, Apple Mail, iOS
and Outlook (unmarked, under a header block), in English or Portuguese as the writer writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from bench.corpus import DATE, QUEUE, Turn

STYLES = ("gmail", "apple", "iphone", "outlook")
#: Lines of our mail a trimmed quote keeps: from the greeting into the first paragraph.
TOP_LINES = (3, 4, 5, 6)


@dataclass(frozen=True)
class Mail:
    """A mail the writer has and answers."""

    message_id: str
    subject: str
    #: "Name <address>" of who sent it.
    sender: str
    date: datetime
    text: str
    reply_to: str | None = None
    #: The agent it was sent to, for an agent's notice: that agent answers it.
    agent: str | None = None


@dataclass(frozen=True)
class Written:
    """A turn as it goes out: envelope and bytes."""

    mail_from: str
    rcpt: str
    raw: bytes


def write(turn: Turn, ours: Mail | None, own: Mail | None) -> Written | None:
    """The turn as its writer sends it: `ours` is the last mail we sent them about the
    conversation (for the agent: their last notice), `own` the customer's last mail in it.
    None when the turn answers a mail the writer never got."""
    if turn.kind == "new":
        return _customer(turn, QUEUE, turn.subject, turn.text)
    if turn.kind.startswith("follow_up_own"):
        if own is None:
            return None
        body = _with_quote(turn, own, trimmed=False)
        headers = {} if turn.kind.endswith("bare") else _threading(own, in_reply_to=True)
        return _customer(turn, QUEUE, _re(turn, turn.subject), body, headers)
    if ours is None:
        return None
    if turn.kind == "agent_answer":
        if ours.reply_to is None or ours.agent is None:
            return None
        body = _with_quote(turn, ours, trimmed=False)
        mail = _message(turn, ours.agent, ours.reply_to, f"Re: {ours.subject}", body)
        return Written(ours.agent, ours.reply_to, mail)
    return _reply_to_ours(turn, ours)


def own_mail(turn: Turn) -> Mail:
    """The customer's turn as it stays in their Sent folder, to be answered later."""
    return Mail(
        message_id=turn.message_id,
        subject=turn.subject,
        sender=f"{turn.name} <{turn.customer}>",
        date=_date(turn.number),
        text=turn.text,
    )


def _reply_to_ours(turn: Turn, ours: Mail) -> Written | None:
    kind, tagged = turn.kind, _re(turn, ours.subject)
    if kind.startswith("auto_reply"):
        prefix = "Resposta automática" if turn.portuguese else "Automatic reply"
        headers = {"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"}
        if kind == "auto_reply":
            headers["In-Reply-To"] = f"<{ours.message_id}>"
        return _customer(turn, QUEUE, f"{prefix}: {ours.subject}", turn.text, headers)
    full, top = _with_quote(turn, ours, trimmed=False), _with_quote(turn, ours, trimmed=True)
    if kind == "reply_to_reply_address" and ours.reply_to:
        return _customer(turn, ours.reply_to, tagged, full, _threading(ours, in_reply_to=True))
    if kind == "reply_threaded":
        return _customer(turn, QUEUE, tagged, full, _threading(ours, in_reply_to=True))
    if kind == "reply_references_only":
        return _customer(turn, QUEUE, tagged, top, _threading(ours, in_reply_to=False))
    if kind == "reply_in_reply_to_only":
        headers = {"In-Reply-To": f"<{ours.message_id}>"}
        return _customer(turn, QUEUE, tagged, turn.text, headers)
    if kind == "reply_tag_only":
        return _customer(turn, QUEUE, tagged, top if turn.number % 2 else turn.text)
    if kind == "reply_bare_quoted":
        return _customer(turn, QUEUE, _re(turn, turn.subject), top)
    if kind == "reply_bare":
        return _customer(turn, QUEUE, _re(turn, turn.subject), turn.text)
    return None


def _re(turn: Turn, subject: str) -> str:
    # Outlook in Portuguese writes RES:, most other clients Re:.
    return f"{'RES' if turn.portuguese and turn.number % 2 else 'Re'}: {subject}"


def _threading(answered: Mail, *, in_reply_to: bool) -> dict[str, str]:
    headers = {"References": f"<{answered.message_id}>"}
    if in_reply_to:
        headers["In-Reply-To"] = f"<{answered.message_id}>"
    return headers


def _customer(
    turn: Turn, to: str, subject: str, body: str, headers: dict[str, str] | None = None
) -> Written:
    sender = f"{turn.name} <{turn.customer}>"
    return Written(turn.customer, to, _message(turn, sender, to, subject, body, headers))


def _message(
    turn: Turn, sender: str, to: str, subject: str, body: str, headers: dict[str, str] | None = None
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(_date(turn.number))
    message["Message-ID"] = f"<{turn.message_id}>"
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body + "\n")
    return message.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _date(number: int) -> datetime:
    return DATE + timedelta(minutes=number)


def _with_quote(turn: Turn, answered: Mail, *, trimmed: bool) -> str:
    """The turn's text above a quote of `answered` in the style of the writer's client."""
    lines = answered.text.strip("\n").split("\n")
    if trimmed:
        # The marker ends our mail: a trimmed quote never reaches it.
        above_marker = [line for line in lines if not line.startswith("[ref:")]
        lines = above_marker[: TOP_LINES[turn.number % len(TOP_LINES)]]
    style = STYLES[turn.number % len(STYLES)]
    if style == "outlook":
        return f"{turn.text}\n\n{_outlook_header(turn, answered)}\n\n" + "\n".join(lines)
    quoted = "\n".join(f"> {line}" if line else ">" for line in lines)
    attribution = _attribution(turn, answered, style)
    if style == "iphone":
        tagline = "Enviado do meu iPhone" if turn.portuguese else "Sent from my iPhone"
        return f"{turn.text}\n\n{tagline}\n\n> {attribution}\n>\n{quoted}"
    return f"{turn.text}\n\n{attribution}\n{quoted}"


def _attribution(turn: Turn, answered: Mail, style: str) -> str:
    when, who = answered.date, answered.sender
    if turn.portuguese:
        if style == "gmail":
            return f"Em {when:%d/%m/%Y} às {when:%H:%M}, {who} escreveu:"
        return f"Em {when:%d/%m/%Y}, à(s) {when:%H:%M}, {who} escreveu:"
    if style == "gmail":
        return f"On {when:%a, %d %b %Y} at {when:%H:%M}, {who} wrote:"
    return f"On {when:%d %b %Y}, at {when:%H:%M}, {who} wrote:"


def _outlook_header(turn: Turn, answered: Mail) -> str:
    keys = (
        ("De", "Enviado", "Para", "Assunto")
        if turn.portuguese
        else ("From", "Sent", "To", "Subject")
    )
    values = (answered.sender, f"{answered.date:%d/%m/%Y %H:%M}", turn.customer, answered.subject)
    block = "\n".join(f"{key}: {value}" for key, value in zip(keys, values, strict=True))
    return f"________________________________\n{block}"
