"""The API's small parts: who a bearer token is, and a file's name in a header."""

from __future__ import annotations

import pytest

from mailtickets.config.settings import ApiToken
from mailtickets.endpoint.api.auth import caller
from mailtickets.endpoint.api.errors import ApiError
from mailtickets.endpoint.api.tickets import content_disposition
from tests.support.cli import SECRET

TOKENS = (
    ApiToken(name="dashboard", scope="read", token=SECRET),
    ApiToken(name="crm", scope="write", token=SECRET[::-1]),
)


def test_a_bearer_token_names_its_owner() -> None:
    assert caller(TOKENS, f"Bearer {SECRET}").name == "dashboard"
    assert caller(TOKENS, f"bearer  {SECRET[::-1]} ").name == "crm"


@pytest.mark.parametrize(
    "header", [None, "", "Bearer", "Bearer ", f"Basic {SECRET}", f"Bearer {SECRET}x", "Bearer é"]
)
def test_anything_else_is_401_with_a_challenge(header: str | None) -> None:
    with pytest.raises(ApiError) as refused:
        caller(TOKENS, header)
    assert refused.value.status == 401
    assert refused.value.headers == {"WWW-Authenticate": 'Bearer realm="mailtickets"'}


@pytest.mark.parametrize(
    ("filename", "header"),
    [
        ("report.pdf", "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"),
        (
            '../../etc/"passwd"',
            "attachment; filename=\"passwd\"; filename*=UTF-8''passwd",
        ),
        ("C:\\Users\\ana\\x.txt", "attachment; filename=\"x.txt\"; filename*=UTF-8''x.txt"),
        (
            "fatura\u00e7\u00e3o.pdf",
            "attachment; filename=\"fatura__o.pdf\"; filename*=UTF-8''fatura%C3%A7%C3%A3o.pdf",
        ),
        (
            "a\r\nSet-Cookie: x",
            "attachment; filename=\"aSet-Cookie: x\"; filename*=UTF-8''aSet-Cookie%3A%20x",
        ),
        ("..", "attachment; filename=\"file\"; filename*=UTF-8''file"),
    ],
)
def test_a_files_name_is_safe_in_the_header_and_on_disk(filename: str, header: str) -> None:
    assert content_disposition(filename) == header
