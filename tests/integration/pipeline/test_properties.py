"""Property: whatever bytes arrive, the worker survives and every intake row ends processed,
discarded as automated or duplicate, or quarantined with a reason — never left behind."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from mailtickets.db.models import IntakeStatus
from tests.support.helpdesk import make_helpdesk
from tests.support.mail import compose

CORPUS = sorted((Path(__file__).parents[2] / "data" / "corpus").glob("*.eml"))
SEEDS = [path.read_bytes() for path in CORPUS] + [compose(), compose(message_id=None)]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 6))):
        operation = draw(st.sampled_from(["flip", "cut", "insert", "nul", "crlf", "repeat"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if operation == "flip" and data:
            data[at] ^= draw(st.integers(1, 255))
        elif operation == "cut":
            del data[at:]
        elif operation == "insert":
            data[at:at] = draw(st.binary(max_size=64))
        elif operation == "nul":
            data[at:at] = b"\x00" * draw(st.integers(1, 8))
        elif operation == "crlf":
            data = bytearray(bytes(data).replace(b"\n", b"\r\n"))
        elif operation == "repeat":
            data[at:at] = data[at : at + 200] * draw(st.integers(2, 20))
    return bytes(data)


def test_no_input_kills_the_worker_or_is_lost(database_url: str, tmp_path: Path) -> None:
    helpdesk = make_helpdesk(database_url, tmp_path)
    examples = 120 if database_url.startswith("sqlite") else 60

    @settings(max_examples=examples, deadline=None)
    @given(raw=st.one_of(mutated(), st.binary(max_size=2000)))
    def check(raw: bytes) -> None:
        before = len(helpdesk.intake())
        result = helpdesk.deliver(raw, mail_from=None)
        helpdesk.settle(result.intake_id)
        rows = helpdesk.intake()
        assert len(rows) in (before, before + 1)
        for row in rows:
            assert row.status is not IntakeStatus.PENDING, row.id
            if row.status is IntakeStatus.QUARANTINED:
                assert row.last_error
                # Quarantine for what the input is, never for a step that broke on it.
                assert not row.last_error.startswith("failed "), row.last_error

    check()
    helpdesk.app.engine.dispose()
