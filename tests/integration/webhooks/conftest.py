"""A helpdesk whose `[[webhook]]` posts to a real local HTTP receiver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mailtickets.outbound.webhook_sender import Posted, WebhookSender
from tests.support.helpdesk import HOLDER, Helpdesk, make_helpdesk
from tests.support.webhooks import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver().up()
    yield receiver
    receiver.down()


def hooked_helpdesk(
    tmp_path: Path, receiver: Receiver, webhook: str = "", url: str | None = None
) -> Helpdesk:
    """A helpdesk with one receiver, "crm", signed with the test key; `webhook` adds keys.
    On SQLite in `tmp_path` unless `url` names a database."""
    extra = (
        '[outgoing]\nretry_delay = "10s"\ngive_up_after = "1d"\n'
        f'[[webhook]]\nname = "crm"\nurl = "{receiver.url}"\nsecret_env = "SECRET"\n{webhook}'
    )
    return make_helpdesk(url or f"sqlite:///{tmp_path / 'mailtickets.db'}", tmp_path, extra)


@pytest.fixture
def desk(database_url: str, tmp_path: Path, receiver: Receiver) -> Iterator[Helpdesk]:
    """On SQLite and, in a second run, on PostgreSQL."""
    desk = hooked_helpdesk(tmp_path, receiver, url=database_url)
    yield desk
    desk.app.engine.dispose()


def webhook_sender(desk: Helpdesk, tried: list[Posted] | None = None) -> WebhookSender:
    """The daemon's webhook sender over this helpdesk, on its clock; each attempt's end
    goes into `tried`."""
    app = desk.app
    return WebhookSender(
        app.sessions,
        app.settings.webhooks,
        desk.clock,
        retry_delay=app.settings.outgoing.retry_delay,
        give_up_after=app.settings.outgoing.give_up_after,
        holder=HOLDER,
        after_post=(tried if tried is not None else []).append,
    )


@pytest.fixture
def sender(desk: Helpdesk) -> Iterator[WebhookSender]:
    sender = webhook_sender(desk)
    yield sender
    sender.close()


def post_all(sender: WebhookSender) -> None:
    """Post every due webhook event, as the daemon would."""
    while sender.work_once():
        pass
