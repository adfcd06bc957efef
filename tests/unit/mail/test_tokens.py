"""Signed reply tokens, Message-IDs and body markers: round trips and every kind of forgery."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from mailtickets.mail.tokens import (
    ReplyToken,
    marker,
    message_id,
    read_reply_token,
    read_survey_token,
    reply_token,
    survey_token,
    ticket_of_message_id,
    tickets_in_markers,
)

SECRET = b"unit-test-secret-0123456789abcdef"
OTHER_SECRET = b"unit-test-secret-fedcba9876543210"
NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
MIDNIGHT_EXPIRY = datetime(2026, 11, 10, tzinfo=UTC)
TOKEN_SHAPE = re.compile(r"^[0-9a-z.]+$")


def _replace_field(token: str, index: int, value: str) -> str:
    fields = token.split(".")
    fields[index] = value
    return ".".join(fields)


def _bump_hex(digit: str) -> str:
    return "0123456789abcdef"[(int(digit, 16) + 1) % 16]


# --- reply tokens ------------------------------------------------------------------------


def test_customer_token_round_trips_without_agent_or_expiry() -> None:
    token = reply_token(SECRET, 1042)
    assert TOKEN_SHAPE.match(token)
    assert token.startswith("1042.0.0.")
    assert read_reply_token(SECRET, token, NOW) == ReplyToken(1042, None, None)
    # No expiry means it is still good decades later.
    assert read_reply_token(SECRET, token, NOW + timedelta(days=36500)) == ReplyToken(
        1042, None, None
    )


def test_agent_token_round_trips_with_expiry() -> None:
    token = reply_token(SECRET, 1042, agent_id=7, expires=MIDNIGHT_EXPIRY)
    assert TOKEN_SHAPE.match(token)
    assert token.startswith("1042.7.")
    assert read_reply_token(SECRET, token, NOW) == ReplyToken(1042, 7, MIDNIGHT_EXPIRY)


def test_agent_token_names_the_answer_the_agent_had_seen() -> None:
    token = reply_token(SECRET, 1042, agent_id=7, expires=MIDNIGHT_EXPIRY, seen=315)
    assert TOKEN_SHAPE.match(token)
    assert read_reply_token(SECRET, token, NOW) == ReplyToken(1042, 7, MIDNIGHT_EXPIRY, 315)
    # Whoever changes what was seen (to dodge the collision check) breaks the signature, and
    # leaving it out makes another token, whose signature does not hold either.
    assert read_reply_token(SECRET, _replace_field(token, 3, "316"), NOW) is None
    without = ".".join(token.split(".")[:3] + token.split(".")[4:])
    assert read_reply_token(SECRET, without, NOW) is None


def test_a_token_from_before_the_collision_check_says_nothing_seen() -> None:
    token = reply_token(SECRET, 1042, agent_id=7, expires=MIDNIGHT_EXPIRY)
    assert read_reply_token(SECRET, token, NOW) == ReplyToken(1042, 7, MIDNIGHT_EXPIRY, None)


@pytest.mark.parametrize(
    "expires",
    [
        NOW + timedelta(hours=1),
        NOW + timedelta(days=90),
        datetime(2026, 11, 10, 23, 59, tzinfo=UTC),
    ],
)
def test_agent_token_is_good_until_its_expiry(expires: datetime) -> None:
    token = reply_token(SECRET, 1042, agent_id=7, expires=expires)
    just_before = expires - timedelta(minutes=1)
    read = read_reply_token(SECRET, token, just_before)
    assert read is not None
    assert (read.ticket_id, read.agent_id) == (1042, 7)
    assert read.expires is not None
    assert read.expires >= expires - timedelta(seconds=1)


@pytest.mark.parametrize(
    ("now", "accepted"),
    [
        (MIDNIGHT_EXPIRY - timedelta(seconds=1), True),
        (MIDNIGHT_EXPIRY, True),
        (MIDNIGHT_EXPIRY + timedelta(seconds=1), False),
        (MIDNIGHT_EXPIRY + timedelta(days=400), False),
    ],
)
def test_expired_token_is_rejected(now: datetime, accepted: bool) -> None:
    token = reply_token(SECRET, 1042, agent_id=7, expires=MIDNIGHT_EXPIRY)
    assert (read_reply_token(SECRET, token, now) is not None) is accepted


@pytest.mark.parametrize(
    ("index", "value"),
    [
        (0, "1043"),  # another ticket
        (0, "01042"),  # same number, other digits
        (1, "8"),  # another agent
        (1, "0"),  # drop the agent: become the customer
        (2, "0"),  # drop the expiry
        (2, "20768"),  # move the expiry
    ],
)
def test_altered_fields_are_rejected(index: int, value: str) -> None:
    token = reply_token(SECRET, 1042, agent_id=7, expires=MIDNIGHT_EXPIRY)
    altered = _replace_field(token, index, value)
    assert altered != token
    assert read_reply_token(SECRET, altered, NOW) is None


@pytest.mark.parametrize("position", [0, 7, 15])
def test_altered_signature_is_rejected(position: int) -> None:
    token = reply_token(SECRET, 1042)
    signature = token.split(".")[3]
    assert len(signature) == 16
    forged = signature[:position] + _bump_hex(signature[position]) + signature[position + 1 :]
    assert read_reply_token(SECRET, _replace_field(token, 3, forged), NOW) is None


def test_token_made_with_another_secret_is_rejected() -> None:
    token = reply_token(OTHER_SECRET, 1042, agent_id=7, expires=MIDNIGHT_EXPIRY)
    assert read_reply_token(OTHER_SECRET, token, NOW) is not None
    assert read_reply_token(SECRET, token, NOW) is None


@pytest.mark.parametrize(
    "token",
    ["", "1042", "1042.0.0", "1042.0.0.0.0123456789abcdef", "a.b.c.d", "1042.0.0.xyz", " "],
)
def test_malformed_tokens_are_rejected(token: str) -> None:
    assert read_reply_token(SECRET, token, NOW) is None


def test_uppercase_token_is_still_accepted() -> None:
    """Some MTAs change the case of local parts."""
    token = reply_token(SECRET, 1042, agent_id=7, expires=MIDNIGHT_EXPIRY)
    assert token.upper() != token  # the signature has letters, so the case really changes
    assert read_reply_token(SECRET, token.upper(), NOW) == ReplyToken(1042, 7, MIDNIGHT_EXPIRY)


def test_tokens_differ_per_ticket_agent_and_secret() -> None:
    tokens = {
        reply_token(SECRET, 1042),
        reply_token(SECRET, 1043),
        reply_token(SECRET, 1042, agent_id=7),
        reply_token(OTHER_SECRET, 1042),
    }
    assert len(tokens) == 4


# --- message ids -------------------------------------------------------------------------


def test_message_id_round_trips() -> None:
    value = message_id(SECRET, "acme.example", 1042)
    assert re.fullmatch(r"mt\.1042\.[0-9a-f]{16}\.[0-9a-f]{16}@acme\.example", value)
    assert ticket_of_message_id(SECRET, value) == 1042


@pytest.mark.parametrize(
    "dress", [lambda v: f"<{v}>", lambda v: f"  <{v}>  ", str.upper, lambda v: f"<{v.upper()}>"]
)
def test_message_id_is_read_in_angle_brackets_and_any_case(dress: Callable[[str], str]) -> None:
    value = message_id(SECRET, "acme.example", 1042)
    assert ticket_of_message_id(SECRET, dress(value)) == 1042


def test_message_ids_are_unique() -> None:
    assert len({message_id(SECRET, "acme.example", 1042) for _ in range(50)}) == 50


def test_message_id_without_a_ticket_names_no_ticket() -> None:
    value = message_id(SECRET, "acme.example", None)
    assert value.startswith("mt.0.")
    assert ticket_of_message_id(SECRET, value) is None


def _forgeries() -> list[str]:
    value = message_id(SECRET, "acme.example", 1042)
    _, ticket, nonce, rest = value.split(".", 3)
    signature, domain = rest.split("@")
    return [
        f"mt.1043.{nonce}.{signature}@{domain}",
        f"mt.{ticket}.{nonce[:-1]}{_bump_hex(nonce[-1])}.{signature}@{domain}",
        f"mt.{ticket}.{nonce}.{signature[:-1]}{_bump_hex(signature[-1])}@{domain}",
        f"mt.{ticket}.{nonce}.{'0' * 16}@{domain}",
        message_id(OTHER_SECRET, "acme.example", 1042),
    ]


@pytest.mark.parametrize("value", _forgeries())
def test_forged_message_ids_are_rejected(value: str) -> None:
    assert ticket_of_message_id(SECRET, value) is None


@pytest.mark.parametrize(
    "value",
    [
        "CAF3x9QnR2s8Vt0wXy4Zb6Cd8Ef0Gh2Ij4Kl6Mn8Op0Qr2St4Uv@mail.gmail.example",
        "ticket-1048.2.20261102100000@acme.example",
        "mt.1042@acme.example",
        "mt.1042.abc.0123456789abcdef@acme.example",
        "",
        "<>",
    ],
)
def test_foreign_message_ids_name_no_ticket(value: str) -> None:
    assert ticket_of_message_id(SECRET, value) is None


# --- body markers ------------------------------------------------------------------------


def test_marker_shape() -> None:
    assert re.fullmatch(r"\[ref:1042\.[0-9a-f]{12}\]", marker(SECRET, 1042))


def test_marker_found_in_quoted_text() -> None:
    body = (
        "Thanks, that fixed it.\n\n"
        "On Mon, 2 Nov 2026 at 10:00, Support <support@acme.example> wrote:\n"
        "> Please try again now.\n"
        f"> {marker(SECRET, 1042)}\n"
    )
    assert tickets_in_markers(SECRET, body) == [1042]


def test_several_markers_in_order_and_duplicates_once() -> None:
    body = (
        f"{marker(SECRET, 7)}\n> {marker(SECRET, 1042)}\n>> {marker(SECRET, 7)}\n"
        f">>> {marker(SECRET, 1042)}"
    )
    assert tickets_in_markers(SECRET, body) == [7, 1042]


def test_forged_markers_are_ignored() -> None:
    genuine = marker(SECRET, 1042)
    signature = genuine[len("[ref:1042.") : -1]
    body = "\n".join(
        [
            "[ref:1042.000000000000]",
            f"[ref:1043.{signature}]",
            marker(OTHER_SECRET, 99),
            f"[ref:1042.{signature[:-1]}{_bump_hex(signature[-1])}]",
            "[ref:abc.0123456789ab]",
        ]
    )
    assert tickets_in_markers(SECRET, body) == []
    assert tickets_in_markers(SECRET, body + "\n" + genuine) == [1042]


def test_no_markers() -> None:
    assert tickets_in_markers(SECRET, "") == []
    assert tickets_in_markers(SECRET, "ticket 1042, ref 1042") == []


# --- satisfaction survey tokens ----------------------------------------------------------


def test_survey_token_round_trips_and_resists_forgery() -> None:
    token = survey_token(SECRET, 1042)
    assert TOKEN_SHAPE.match(token)
    assert read_survey_token(SECRET, token) == 1042
    assert read_survey_token(SECRET, token.upper()) == 1042  # MTAs may change case
    assert read_survey_token(OTHER_SECRET, token) is None
    assert read_survey_token(SECRET, _replace_field(token, 1, "1043")) is None
    assert read_survey_token(SECRET, reply_token(SECRET, 1042)) is None
    assert read_reply_token(SECRET, token, NOW) is None
