"""The ingest worker: retries with backoff, quarantines with the reason, never stops."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload

from mailtickets.db.lease import backoff
from mailtickets.db.models import InboundMessage, IntakeStatus, Lease, Queue
from mailtickets.ingest.intake import Envelope, accept
from mailtickets.pipeline.worker import IngestWorker
from mailtickets.services import quarantine
from mailtickets.services.directory import sync_directory
from tests.support.cli import SECRET, mailtickets
from tests.support.helpdesk import CONFIG, HOLDER, Helpdesk
from tests.support.mail import compose

CORPUS = Path(__file__).parents[2] / "data" / "corpus"


def _worker(helpdesk: Helpdesk) -> IngestWorker:
    app = helpdesk.app
    return IngestWorker(
        app.sessions, app.pipeline, app.settings.ingest, helpdesk.clock, holder=HOLDER
    )


def _accept(helpdesk: Helpdesk, raw: bytes, mail_from: str | None = "ana@example.com") -> int:
    envelope = Envelope("smtp", mail_from, ("support@acme.example",))
    return accept(helpdesk.app.sessions, raw, envelope, helpdesk.clock.now()).id


def _row(helpdesk: Helpdesk, intake_id: int) -> InboundMessage:
    with helpdesk.app.sessions() as session:
        row = session.get(InboundMessage, intake_id, options=[selectinload(InboundMessage.body)])
    assert row is not None
    return row


def test_backoff_doubles_and_is_capped() -> None:
    first = timedelta(seconds=10)
    assert [backoff(first, n) for n in (1, 2, 3)] == [first, first * 2, first * 4]
    assert backoff(first, 100) == timedelta(hours=6)


def test_failures_are_retried_with_backoff_then_quarantined_and_replayable(
    helpdesk: Helpdesk,
) -> None:
    worker = _worker(helpdesk)
    # A real failure: the queue the message is for vanished from the database.
    with helpdesk.app.sessions.begin() as session:
        session.execute(delete(Queue))
    intake_id = _accept(helpdesk, compose())

    assert worker.work_once()
    row = _row(helpdesk, intake_id)
    assert (row.status, row.attempts) == (IntakeStatus.PENDING, 1)
    assert "not in the database" in (row.last_error or "")
    # Released: a restart must not take a failure for the lease of a crashed process.
    with helpdesk.app.sessions() as session:
        assert session.scalars(select(Lease)).all() == []
    assert not worker.work_once()  # waiting out its backoff, not hammering

    helpdesk.clock.advance(timedelta(seconds=10))
    assert worker.work_once()
    helpdesk.clock.advance(timedelta(seconds=20))
    assert worker.work_once()
    row = _row(helpdesk, intake_id)
    assert row.status is IntakeStatus.QUARANTINED
    assert row.last_error is not None and row.last_error.startswith("failed 3 times; last: ")
    assert b"the printer is on fire" in row.raw

    with helpdesk.app.sessions() as session:
        (entry,) = quarantine.entries(session)
    assert (entry.id, entry.subject) == (intake_id, "Printer on fire")

    # The operator fixes the cause and replays it.
    with helpdesk.app.sessions.begin() as session:
        sync_directory(session, helpdesk.app.settings.queues, helpdesk.app.settings.agents)
        quarantine.retry(session, intake_id, helpdesk.clock.now())
    assert worker.work_once()
    row = _row(helpdesk, intake_id)
    assert (row.status, row.outcome) == (IntakeStatus.DONE, "new_ticket")


def test_one_bad_message_does_not_hold_up_the_others(helpdesk: Helpdesk) -> None:
    worker = _worker(helpdesk)
    bad = _accept(helpdesk, b"\x00\x01garbage without headers", mail_from=None)
    good = _accept(helpdesk, compose())
    while worker.work_once():
        pass
    assert _row(helpdesk, bad).status is IntakeStatus.QUARANTINED
    assert _row(helpdesk, good).status is IntakeStatus.DONE


def test_a_row_left_by_a_crash_is_processed_on_the_next_run(helpdesk: Helpdesk) -> None:
    intake_id = _accept(helpdesk, compose())
    # The crashed process had claimed it: the attempt is counted, the lease runs.
    with helpdesk.app.sessions.begin() as session:
        row = session.get(InboundMessage, intake_id)
        assert row is not None
        row.attempts, row.next_attempt_at = 1, helpdesk.clock.now() + timedelta(seconds=10)
    worker = _worker(helpdesk)
    assert not worker.work_once()
    helpdesk.clock.advance(timedelta(seconds=10))
    assert worker.work_once()
    assert _row(helpdesk, intake_id).status is IntakeStatus.DONE


def test_an_operator_discarding_a_held_message_keeps_its_raw_bytes(
    helpdesk: Helpdesk, tmp_path: Path
) -> None:
    # A real client's message, stamped as spam by the MTA in front of us: 8-bit ISO-8859-1
    # text that any decoding and re-encoding on the way to the database would change.
    raw = b"X-Spam-Flag: YES\n" + (CORPUS / "mutt-iso-8859-1-8bit.eml").read_bytes()
    assert b"\xe3" in raw and b"\r\n" not in raw
    intake_id = _accept(helpdesk, raw)
    assert _worker(helpdesk).work_once()
    assert _row(helpdesk, intake_id).status is IntakeStatus.QUARANTINED

    config = tmp_path / "site.toml"
    url = helpdesk.app.settings.database.url
    config.write_text(CONFIG.format(url=url, directory=tmp_path))

    def operator(*args: str) -> str:
        done = mailtickets("--config", str(config), *args, cwd=tmp_path, env={"SECRET": SECRET})
        assert done.returncode == 0, done.stderr
        return done.stdout

    listed = operator("quarantine", "list")
    row_line = listed.splitlines()[1]  # under the header row
    assert row_line.split()[0] == f"#{intake_id}"
    assert "'Pedido de cancelamento da assinatura'" in row_line
    assert "spam: X-Spam-Flag: YES" in listed
    assert operator("quarantine", "discard", str(intake_id)) == f"message #{intake_id} discarded\n"

    # Out of the operator's way ...
    assert operator("quarantine", "list").strip() == "0 quarantined message(s)"
    intake = json.loads(operator("status", "--json"))["intake"]
    assert (intake["quarantined"], intake["discarded"]) == (0, 1)
    # ... and on record, exactly as it arrived.
    row = _row(helpdesk, intake_id)
    assert (row.status, row.outcome) == (IntakeStatus.DISCARDED, "discarded")
    assert row.raw == raw


def test_automated_mail_discarded_by_the_pipeline_keeps_its_raw_bytes(helpdesk: Helpdesk) -> None:
    # A mailing list's post that belongs to no ticket: never a ticket, never answered.
    raw = (CORPUS / "mailman-list-post.eml").read_bytes().replace(b"\n", b"\r\n")
    intake_id = _accept(helpdesk, raw)
    assert _worker(helpdesk).work_once()
    row = _row(helpdesk, intake_id)
    assert (row.status, row.outcome, row.ticket_id) == (IntakeStatus.DISCARDED, "bulk", None)
    assert row.raw == raw
    assert helpdesk.outbox() == []


def test_a_message_that_kept_killing_the_process_is_quarantined(helpdesk: Helpdesk) -> None:
    intake_id = _accept(helpdesk, compose())
    # Three attempts leased and never finished: the process died each time.
    with helpdesk.app.sessions.begin() as session:
        row = session.get(InboundMessage, intake_id)
        assert row is not None
        row.attempts, row.next_attempt_at = 3, helpdesk.clock.now()
    assert _worker(helpdesk).work_once()
    row = _row(helpdesk, intake_id)
    assert row.status is IntakeStatus.QUARANTINED
    assert row.last_error == "3 attempts did not finish; the process stopped while processing it"
