"""Authentication-Results: only our own MTA's verdict counts."""

from __future__ import annotations

import pytest

from mailtickets.mail.authresults import authenticated


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (["mx.acme.example; dkim=pass header.d=acme.example"], True),
        (["MX.ACME.EXAMPLE 1; spf=pass smtp.mailfrom=acme.example"], True),
        (["mx.acme.example; dkim=fail; spf=neutral"], False),
        (["mx.acme.example; dkim=passed"], False),
        (["evil.example; dkim=pass", "mx.acme.example; spf=fail"], False),
        # Only the topmost header is ours: a lower one, however it looks, was written by others.
        (["evil.example; dkim=pass", "mx.acme.example; dkim=pass"], False),
        (["mx.acme.example; dkim=fail; spf=fail", "mx.acme.example; dkim=pass"], False),
        (["mx.acme.example; none"], False),
        ([""], False),
        ([], False),
    ],
)
def test_authenticated(headers: list[str], expected: bool) -> None:
    assert authenticated(headers, "mx.acme.example") is expected
