"""Mail loops: two helpdesks acknowledging each other, and a customer's autoresponder that
answers everything. Each exchange stops within a small, stated number of mails: at once when
our headers arrive intact (RFC 3834 Auto-Submitted, our loop header), and at the per-sender
acknowledgement limit when a relay strips them or the robot writes like a person."""

from __future__ import annotations

from collections.abc import Callable
from email import message_from_bytes
from email.message import Message
from email.policy import compat32
from pathlib import Path

import pytest

from tests.faults.figures import Figures
from tests.faults.site import take_sent
from tests.support.helpdesk import Helpdesk, make_helpdesk
from tests.support.mail import compose

LIMIT = 3  # [tickets] max_acknowledgements_per_hour in both sites
ROUNDS = 50  # how long the exchange is allowed to go on before we call it a loop

SITE = """
[database]
url = "{url}"
[storage]
dir = "{directory}"
[tickets]
subject_prefix = "%(prefix)s"
secret_env = "SECRET"
max_acknowledgements_per_hour = %(limit)d
[[queue]]
address = "%(queue)s"
"""


def _site(directory: Path, prefix: str, queue: str) -> Helpdesk:
    directory.mkdir()
    config = SITE % {"prefix": prefix, "queue": queue, "limit": LIMIT}
    return make_helpdesk(f"sqlite:///{directory}/mt.db", directory, config=config)


def _strip_robot_headers(raw: bytes) -> bytes:
    """A forwarding relay that drops every header saying the mail came from a robot."""
    message = message_from_bytes(raw, policy=compat32)
    for name in ("Auto-Submitted", "X-Mailtickets-Loop", "Precedence", "X-Auto-Response-Suppress"):
        del message[name]
    return message.as_bytes()


def _exchange(first: bytes, hops: list[tuple[Helpdesk, str, Callable[[bytes], bytes]]]) -> int:
    """Pass mail around the `hops` (desk, envelope recipient, relay) until none is sent."""
    mails, pending, position = 0, [first], 0
    while pending and mails < ROUNDS:
        desk, recipient, relay = hops[position % len(hops)]
        for raw in pending:
            desk.deliver(relay(raw), rcpt=(recipient,), mail_from=None)
        pending = take_sent(desk)
        mails += len(pending)
        position += 1
    return mails


@pytest.mark.parametrize("relay", ["headers intact", "robot headers stripped"])
def test_two_helpdesks_acknowledging_each_other(
    tmp_path: Path, figures: Figures, relay: str
) -> None:
    alpha = _site(tmp_path / "alpha", "ALPHA", "support@alpha.example")
    beta = _site(tmp_path / "beta", "BETA", "help@beta.example")
    hop = _strip_robot_headers if relay == "robot headers stripped" else (lambda raw: raw)
    # A forged first mail: "from" beta's queue to alpha's, so each answers the other.
    first = compose(sender="help@beta.example", to="support@alpha.example", subject="Hello")
    mails = _exchange(
        first, [(alpha, "support@alpha.example", hop), (beta, "help@beta.example", hop)]
    )
    bound = 1 if relay == "headers intact" else 2 * LIMIT
    figures.tried = f"two helpdesks acknowledging each other, {relay}, a forged first mail"
    figures.messages = mails + 1
    figures.note(f"acknowledgement limit {LIMIT} per sender and hour; bound {bound} mails")
    figures.survived = f"the exchange stopped after {mails} mail(s)"
    assert mails <= bound


def _autoresponder(courteous: bool) -> Callable[[bytes], bytes]:
    """A customer's robot answering every mail it gets; a crude one hides that it is one."""
    count = iter(range(1, ROUNDS + 2))

    def answer(raw: bytes) -> bytes:
        incoming: Message = message_from_bytes(raw, policy=compat32)
        number = next(count)
        if courteous:
            return compose(
                sender="ana@customer.example",
                subject=f"Re: {incoming['Subject']}",
                in_reply_to=str(incoming["Message-ID"]).strip("<>"),
                body="I am away until Monday.\n",
            )
        # Written like a person: a new subject each time, no threading, no robot headers.
        return compose(
            sender="ana@customer.example", subject=f"Away notice {number}", body="Away.\n"
        )

    return answer


def _to(raw: bytes) -> str:
    return str(message_from_bytes(raw, policy=compat32)["To"])


@pytest.mark.parametrize("courteous", [True, False], ids=["threading", "crude"])
def test_a_customer_autoresponder_that_answers_everything(
    helpdesk: Helpdesk, figures: Figures, courteous: bool
) -> None:
    robot = _autoresponder(courteous)
    helpdesk.deliver(compose(sender="ana@customer.example", subject="Printer on fire"))
    mails = 0
    for _ in range(ROUNDS):
        to_customer = [raw for raw in take_sent(helpdesk) if _to(raw) == "ana@customer.example"]
        if not to_customer:
            break
        mails += len(to_customer)
        for raw in to_customer:
            helpdesk.deliver(robot(raw))
    limit = helpdesk.app.settings.tickets.max_acknowledgements_per_hour
    figures.tried = f"a {'threading' if courteous else 'crude'} autoresponder answering us"
    figures.messages = 1 + 2 * mails
    figures.survived = f"we wrote to it {mails} time(s) (bound: {limit}, the hourly limit)"
    assert 1 <= mails <= limit
