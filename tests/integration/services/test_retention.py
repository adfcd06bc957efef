"""`[retention] raw_messages`: raw mail older than the limit is purged, nothing else is."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update

from mailtickets.db.base import make_engine
from mailtickets.db.models import InboundMessage, InboundRaw, IntakeStatus
from mailtickets.ingest.intake import Envelope, accept
from mailtickets.outcomes import Outcome
from mailtickets.services.mailfiles import maildir_files
from mailtickets.services.retention import purge_raw
from tests.support.cli import mailtickets
from tests.support.daemon import READY_LINE, Daemon
from tests.support.helpdesk import Helpdesk
from tests.support.mail import compose

YEAR = timedelta(days=365)


def _stamp(desk: Helpdesk, known: set[str]) -> set[str]:
    """Date the maildir files not in `known` by the helpdesk's clock; return their names."""
    stamped = set()
    moment = desk.clock.now().timestamp()
    for path in maildir_files(desk.app.settings.outgoing.maildir):
        if path.name not in known:
            os.utime(path, (moment, moment))
            stamped.add(path.name)
    return stamped


def test_old_raw_mail_is_purged_and_recent_or_unfinished_mail_kept(any_helpdesk: Helpdesk) -> None:
    desk = any_helpdesk
    old = desk.deliver(compose(body="Old printer trouble.", message_id="old@client.example"))
    held = desk.deliver(compose(subject="Old spam", headers={"X-Spam-Flag": "YES"}))
    waiting = accept(
        desk.app.sessions,
        compose(subject="Never processed"),
        Envelope("smtp", None, ()),
        desk.clock.now(),
    )
    desk.send_all()
    old_files = _stamp(desk, set())

    desk.clock.advance(YEAR + timedelta(days=30))
    new = desk.deliver(compose(body="New printer trouble."))
    desk.send_all()
    new_files = _stamp(desk, old_files)
    assert old_files and new_files

    purged = purge_raw(
        desk.app.sessions, YEAR, desk.clock.now(), desk.app.settings.outgoing.maildir
    )
    assert (purged.received, purged.discarded) == (1, 1)
    assert purged.sent >= 1 and purged.files == len(old_files)

    with desk.app.sessions() as session:
        rows = {row.id: row for row in session.scalars(select(InboundMessage))}
        assert rows[old.intake_id].raw == b"" and rows[old.intake_id].status is IntakeStatus.DONE
        assert rows[held.intake_id].raw == b""
        assert (rows[held.intake_id].status, rows[held.intake_id].outcome) == (
            IntakeStatus.DISCARDED,
            Outcome.PURGED,
        )
        assert rows[waiting.id].raw and rows[waiting.id].status is IntakeStatus.PENDING
        assert rows[new.intake_id].raw
    sent = {o.ticket_id: o.raw for o in desk.outbox() if o.template == "customer/acknowledgement"}
    assert sent[old.ticket_id] is None and sent[new.ticket_id]
    remaining = {p.name for p in maildir_files(desk.app.settings.outgoing.maildir)}
    assert remaining == new_files
    # The ticket keeps its conversation; the same mail delivered again is still known.
    assert old.ticket_id is not None
    assert desk.ticket(old.ticket_id)["messages"][0]["new_text"] == "Old printer trouble."
    again = desk.deliver(compose(body="Old printer trouble.", message_id="old@client.example"))
    assert again.outcome == "duplicate"
    # Nothing is left to purge a second time.
    assert (
        purge_raw(
            desk.app.sessions, YEAR, desk.clock.now(), desk.app.settings.outgoing.maildir
        ).total
        == 0
    )


def test_the_daemon_purges_old_raw_mail_when_it_starts(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    url = f"sqlite:///{tmp_path}/mt.db"
    config.write_text(
        f'[database]\nurl = "{url}"\n[storage]\ndir = "{tmp_path}/var"\n'
        '[[queue]]\naddress = "support@acme.example"\n'
        '[retention]\nraw_messages = "365d"\n'
    )
    (tmp_path / "old.eml").write_bytes(compose())
    for command in (("db", "upgrade"), ("import", str(tmp_path / "old.eml"))):
        done = mailtickets("--config", str(config), *command, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    engine = make_engine(url)
    long_ago = datetime.now(UTC) - timedelta(days=400)
    with engine.begin() as connection:  # as if it had been received 400 days ago
        connection.execute(update(InboundMessage).values(received_at=long_ago))
    with Daemon(tmp_path, ("--config", str(config))) as daemon:
        daemon.wait_for(READY_LINE)
        daemon.wait_for("retention: purged raw mail")
        assert daemon.stop() == 0, daemon.output
    with engine.connect() as connection:
        assert connection.scalars(select(InboundRaw.raw)).all() == [b""]
    engine.dispose()
