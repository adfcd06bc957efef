"""Spam verdicts: the MTA's stamp, the block and allow lists, and their precedence."""

from __future__ import annotations

import pytest

from mailtickets.mail.parse import parse
from mailtickets.mail.spam import listed, verdict
from tests.support.mail import compose


def _verdict(
    raw: bytes,
    sender: str = "ana@example.com",
    envelope: str | None = None,
    *,
    mta_headers: bool = True,
    rule: str | None = None,
) -> str | None:
    return verdict(
        parse(raw),
        sender,
        envelope,
        block=("bad.example",),
        allow=("good.example",),
        mta_headers=mta_headers,
        rule=rule,
    )


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-Spam-Flag": "YES"}, "X-Spam-Flag: YES"),
        ({"X-Spam-Status": "Yes, score=7.2 required=5.0"}, "X-Spam-Status: Yes, score=7.2"),
        ({"X-Spam": "yes"}, "X-Spam: yes"),
        ({"X-Spam-Flag": "NO", "X-Spam-Status": "No, score=-1.0"}, None),
        ({}, None),
    ],
)
def test_the_mta_stamp(headers: dict[str, str], expected: str | None) -> None:
    found = _verdict(compose(headers=headers))
    if expected is None:
        assert found is None
    else:
        assert found is not None and found.startswith(expected)


def test_the_stamp_can_be_ignored() -> None:
    assert _verdict(compose(headers={"X-Spam-Flag": "YES"}), mta_headers=False) is None


def test_lists_name_addresses_and_domains_with_subdomains() -> None:
    entries = ("spam@example.net", "bulk.example")
    assert listed(["SPAM@example.net"], entries) == "spam@example.net"
    assert listed(["x@mail.bulk.example"], entries) == "bulk.example"
    assert listed(["x@notbulk.example", "ok@example.net"], entries) is None


def test_allow_wins_then_block_then_stamp_then_rule() -> None:
    stamped = compose(headers={"X-Spam-Flag": "YES"})
    assert _verdict(stamped, "x@good.example", "x@bad.example", rule="r") is None
    assert _verdict(stamped, "x@a.example", "x@bad.example", rule="r") == (
        "bad.example is on the block list"
    )
    assert _verdict(stamped, "x@a.example", rule="r") == "X-Spam-Flag: YES"
    assert _verdict(compose(), "x@a.example", rule="r") == "rule r"
