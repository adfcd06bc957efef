"""Authentication-Results: only our own MTA's verdict counts, and only for the agent's domain."""

from __future__ import annotations

import pytest

from mailtickets.mail.authresults import MAX_HEADER, check

OURS = "mx.acme.example"


@pytest.mark.parametrize(
    "headers",
    [
        ["mx.acme.example; dkim=pass header.d=acme.example"],
        ["MX.ACME.EXAMPLE 1; spf=pass smtp.mailfrom=acme.example"],
        ["mx.acme.example; spf=pass smtp.mailfrom=alice@ACME.example."],
        ["mx.acme.example; dkim=pass header.d=acme.example header.i=@acme.example"],
        # Every result of the header is read, not only the first.
        ["mx.acme.example; dkim=fail header.d=acme.example; spf=pass smtp.mailfrom=acme.example"],
        ["mx.acme.example; dkim=pass (good signature) header.d=acme.example; dmarc=pass"],
        # Folded over lines, as it arrives.
        ["mx.acme.example;\r\n\tdkim=pass\r\n\theader.d=acme.example"],
        # Headers of other authserv-ids are not read, wherever they stand.
        ["internal.relay.example; dkim=fail", "mx.acme.example; dkim=pass header.d=acme.example"],
    ],
)
def test_an_aligned_pass_from_our_mta_proves_the_domain(headers: list[str]) -> None:
    result = check(headers, OURS, "acme.example")
    assert result.aligned, result.reason


def test_a_parent_domains_signature_covers_a_subdomain() -> None:
    headers = ["mx.acme.example; dkim=pass header.d=acme.example"]
    assert check(headers, OURS, "eu.acme.example").aligned
    assert not check(headers, OURS, "notacme.example").aligned
    # A bare top-level domain is nobody's: it never covers every domain below it.
    assert not check(["mx.acme.example; dkim=pass header.d=example"], OURS, "acme.example").aligned


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        (["mx.acme.example; spf=pass smtp.mailfrom=mal@evil.example"], "SPF of another domain"),
        (["mx.acme.example; dkim=pass header.d=evil.example"], "DKIM of another domain"),
        (
            ['mx.acme.example; spf=fail smtp.mailfrom="spf=pass"@evil.example'],
            "the envelope the MTA copied into a property value",
        ),
        (
            ['mx.acme.example; spf=fail smtp.mailfrom="dkim=pass header.d=acme.example"@x.example'],
            "a result inside a quoted string",
        ),
        (["mx.acme.example; x-dkim=pass header.d=acme.example"], "another method"),
        (
            ["mx.acme.example; spf=fail (dkim=pass header.d=acme.example) smtp.mailfrom=x.example"],
            "a result inside a comment",
        ),
        (["mx.acme.example (dkim=pass header.d=acme.example); none"], "a comment and none"),
        (
            ["mx.acme.example; dkim=pass header.d=acme.example; dmarc=fail header.from=x.example"],
            "dmarc=fail never trusts",
        ),
        (
            [
                "mx.acme.example; dkim=pass header.d=acme.example",
                "mx.acme.example; dmarc=fail header.from=acme.example",
            ],
            "dmarc=fail in any header of ours",
        ),
        (
            [
                "mx.acme.example; dkim=fail header.d=acme.example",
                "mx.acme.example; dkim=pass header.d=acme.example",
            ],
            "a forged header below ours",
        ),
        (["evil.example; dkim=pass header.d=acme.example"], "another server's verdict"),
        (["mx.acme.example; dkim=passed header.d=acme.example"], "not a pass"),
        (["mx.acme.example; dkim=pass"], "a pass for no domain"),
        (["mx.acme.example; dkim=pass header.d=acme.example; garbage"], "unreadable"),
        (["mx.acme.example; none"], "no result"),
        ([""], "empty"),
        ([], "no header at all"),
        ([f"mx.acme.example; dkim=pass header.d=acme.example ({'x' * MAX_HEADER})"], "too long"),
        ([f"mx.acme.example; dkim=pass header.d=acme.example {'(' * 40}{')' * 40}"], "nested"),
    ],
)
def test_nothing_else_proves_the_domain(headers: list[str], why: str) -> None:
    assert not check(headers, OURS, "acme.example").aligned, why


def test_the_reason_names_the_server_and_the_domain() -> None:
    assert (
        check([], OURS, "acme.example").reason == "no Authentication-Results from mx.acme.example"
    )
    failed = check(["mx.acme.example; dkim=pass header.d=evil.example"], OURS, "acme.example")
    assert failed.reason == "no DKIM or SPF pass for acme.example from mx.acme.example"
    dmarc = check(["mx.acme.example; dmarc=fail; dkim=pass header.d=acme.example"], OURS, "a.b")
    assert dmarc.reason == "mx.acme.example reports dmarc=fail"
