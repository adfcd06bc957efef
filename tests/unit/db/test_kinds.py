"""The stored names of events and outcomes: one enum each, and the strings the database keeps."""

from mailtickets.db.models import EventKind, MessageKind
from mailtickets.mail.loops import Automated
from mailtickets.outcomes import Outcome
from mailtickets.pipeline.steps.loops import AUTOMATED_OUTCOMES


def test_every_kind_of_message_has_its_event() -> None:
    assert {EventKind.message(kind) for kind in MessageKind} == {
        kind for kind in EventKind if kind.startswith("message_")
    }


def test_every_automated_verdict_has_an_outcome() -> None:
    assert set(AUTOMATED_OUTCOMES) == set(Automated)


def test_stored_strings_are_unchanged() -> None:
    # Rows written before these enums existed hold these strings; renaming one needs a
    # data migration.
    assert str(EventKind.STATUS) == "status"
    assert str(EventKind.message(MessageKind.CUSTOMER)) == "message_customer"
    assert [str(Outcome.OWN_MAIL), str(Outcome.NEW_TICKET)] == ["own_mail", "new_ticket"]
