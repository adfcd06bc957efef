"""The ingest worker: retries with backoff, quarantines with the reason, never stops."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select

from mailtickets.db.lease import backoff
from mailtickets.db.models import InboundMessage, IntakeStatus, Lease, Queue
from mailtickets.ingest.intake import Envelope, accept
from mailtickets.pipeline.worker import IngestWorker
from mailtickets.services import quarantine
from mailtickets.services.directory import sync_directory
from tests.support.helpdesk import HOLDER, Helpdesk
from tests.support.mail import compose


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
        row = session.get(InboundMessage, intake_id)
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


def test_discarding_keeps_the_raw_message(helpdesk: Helpdesk) -> None:
    intake_id = _accept(helpdesk, b"")
    _worker(helpdesk).work_once()
    with helpdesk.app.sessions.begin() as session:
        quarantine.discard(session, intake_id, helpdesk.clock.now())
    with helpdesk.app.sessions() as session:
        row = session.scalar(select(InboundMessage).where(InboundMessage.id == intake_id))
        assert row is not None and row.status is IntakeStatus.DISCARDED


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
