"""A helpdesk whose outgoing mail goes through a real relay on a free port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.helpdesk import Helpdesk, make_helpdesk
from tests.support.relay import Relay


@pytest.fixture
def relay() -> Iterator[Relay]:
    relay = Relay().up()
    yield relay
    relay.down()


@pytest.fixture
def relayed(relay: Relay, tmp_path: Path) -> Iterator[Helpdesk]:
    extra = (
        f'[outgoing]\nhost = "127.0.0.1"\nport = {relay.port}\ntls = "none"\n'
        'retry_delay = "10s"\ngive_up_after = "1h"\ntimeout = "5s"\n'
    )
    desk = make_helpdesk(f"sqlite:///{tmp_path / 'mailtickets.db'}", tmp_path, extra)
    yield desk
    desk.app.engine.dispose()
