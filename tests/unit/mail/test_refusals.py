"""Whose fault a relay's 5xx is, read from answers real MTAs give."""

from __future__ import annotations

import pytest

from mailtickets.mail.refusals import Blame, blame, same_answer


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        # Postfix, relaying for a client outside mynetworks and not logged in.
        ("554 5.7.1 <ana@example.com>: Relay access denied", Blame.RELAY),
        # Postfix smtpd_sasl: a wrong password, and mail before a required login.
        ("535 5.7.8 Error: authentication failed: authentication failure", Blame.RELAY),
        ("530 5.7.0 Must issue a STARTTLS command first", Blame.RELAY),
        ("530 Authentication required", Blame.RELAY),
        # Postfix: a sender address the logged-in user does not own.
        ("553 5.7.1 <support@acme.example>: Sender address rejected: not owned by user x",
         Blame.RELAY),
        # Microsoft 365 and Gmail's smtp-relay refusing an unknown client.
        ("550 5.7.60 SMTP; Client does not have permissions to send as this sender", Blame.RELAY),
        ("550 5.7.0 Mail relay denied [203.0.113.9]. Invalid credentials for relay for one of "
         "the domains in: acme.example", Blame.RELAY),
        # Exim and Sendmail without enhanced codes.
        ("550 relay not permitted", Blame.RELAY),
        ("550 Relaying denied. Proper authentication required.", Blame.RELAY),
        ("554 5.0.0 Relaying denied", Blame.RELAY),
        # About the recipient: only enhanced codes of class 1.
        ("550 5.1.1 <ana@example.com>: Recipient address rejected: User unknown in local "
         "recipient table", Blame.RECIPIENT),
        # "relay" in the text, but Postfix knows the relay domain's users: the code decides.
        ("550 5.1.1 <ana@example.com>: Recipient address rejected: User unknown in relay "
         "recipient table", Blame.RECIPIENT),
        ("550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address "
         "lookup", Blame.RECIPIENT),
        ("553 5.1.3 <ana@@example.com>: Recipient address rejected: bad address syntax",
         Blame.RECIPIENT),
        # Anything else: refused, cause unknown.
        ("550 Requested action not taken: mailbox unavailable", Blame.MESSAGE),
        ("552 5.2.2 <ana@example.com>: Recipient address rejected: Mailbox full", Blame.MESSAGE),
        ("553 5.6.7 the relay does not offer SMTPUTF8 for this non-ASCII address", Blame.MESSAGE),
    ],
)  # fmt: skip
def test_blame_follows_the_enhanced_code_then_the_words(answer: str, expected: Blame) -> None:
    assert blame(answer) is expected


def test_a_suppression_reason_of_older_versions_is_read_too() -> None:
    # Older versions stored "address: answer; address: answer" after this prefix.
    legacy = "ana@example.com: 554 5.7.1 <ana@example.com>: Relay access denied"
    assert blame(legacy) is Blame.RELAY


def test_same_answer_leaves_the_addresses_out() -> None:
    ana = same_answer("554 5.7.1 <ana@example.com>: Relay access denied")
    bia = same_answer("554 5.7.1  <Bia@Example.org>:  relay access denied")
    assert ana == bia == "554 5.7.1 <>: relay access denied"
    unknown = "550 5.1.1 <ana@example.com>: Recipient address rejected: User unknown"
    assert same_answer(unknown) != ana
    assert same_answer("550 5.1.1 ana@example.com... User unknown") == same_answer(
        "550 5.1.1 bia@example.org... User unknown"
    )
