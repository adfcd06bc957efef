"""The JSON API of the real `mailtickets run`: reads, writes, who may do which, and the
answers to bad input. One daemon serves the module; each test leaves what others read."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.support.api import (
    AGENT,
    FILE_BYTES,
    READ_TOKEN,
    WRITE_TOKEN,
    ApiSite,
    api_site,
    until,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiSite]:
    with api_site(tmp_path_factory.mktemp("api")) as running:
        yield running


def _id(site: ApiSite, subject: str) -> int:
    rows = site.get("/api/v1/tickets", params={"limit": 200}).json()["tickets"]
    return int(next(row["id"] for row in rows if row["subject"] == subject))


def test_tickets_are_listed_page_by_page_and_shown_as_the_cli_shows_them(site: ApiSite) -> None:
    first = site.get("/api/v1/tickets", params={"limit": 2}).json()
    assert [row["subject"] for row in first["tickets"]][:1] == ["Log attached"]
    assert first["next_cursor"] is not None
    rest = site.get("/api/v1/tickets", params={"limit": 2, "cursor": first["next_cursor"]})
    ids = [row["id"] for row in first["tickets"] + rest.json()["tickets"]]
    assert ids == sorted(ids) and len(set(ids)) >= 3
    assert site.get("/api/v1/tickets", params={"status": "closed"}).json()["tickets"] == []
    ticket = site.ticket(_id(site, "Log attached"))
    assert ticket["customer"] == "ana@example.com"
    assert ticket["messages"][0]["attachments"][0]["number"] == 1
    assert {"events", "outgoing", "participants", "tags"} <= set(ticket)


def test_a_file_comes_whole_under_a_name_that_cannot_climb_out(site: ApiSite) -> None:
    ticket_id = _id(site, "Log attached")
    response = site.get(f"/api/v1/tickets/{ticket_id}/attachments/1")
    assert response.status_code == 200
    assert response.content == FILE_BYTES
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="')
    assert "/" not in disposition.split("filename*=")[0] and ".." not in disposition
    assert response.headers["x-content-type-options"] == "nosniff"


def test_unknown_tickets_other_tickets_files_and_path_tricks_are_404(site: ApiSite) -> None:
    other = _id(site, "Case 2")
    with_file = _id(site, "Log attached")
    for path in (
        "/api/v1/tickets/999999",
        "/api/v1/tickets/99999999999999999999999",
        f"/api/v1/tickets/{other}/attachments/1",
        f"/api/v1/tickets/{with_file}/attachments/2",
        f"/api/v1/tickets/{with_file}/attachments/0",
        f"/api/v1/tickets/{with_file}/attachments/{quote('../../etc/passwd', safe='')}",
        f"/api/v1/tickets/{with_file}/attachments/..%2f1",
        f"/api/v1/tickets/{with_file}/attachments/%2e%2e",
        "/api/v1/contacts/nobody@example.com",
        "/api/v1/reports/everything",
    ):
        response = site.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"] == "not_found", path


def _raw(site: ApiSite, request: bytes) -> bytes:
    host, port = site.base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(request)
        return conn.recv(65536)


def test_dot_segments_sent_as_they_are_reach_no_file(site: ApiSite) -> None:
    with_file = _id(site, "Log attached")
    path = f"/api/v1/tickets/{with_file}/attachments/../../../../etc/passwd"
    answer = _raw(
        site,
        f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {READ_TOKEN}\r\n"
        "Connection: close\r\n\r\n".encode(),
    )
    assert answer.startswith(b"HTTP/1.1 404")
    assert b"root:" not in answer


def test_without_the_right_token_nothing_is_read_or_changed(site: ApiSite) -> None:
    ticket_id = _id(site, "Case 2")
    before = site.ticket(ticket_id)
    for token in (None, "not-a-token", READ_TOKEN + "x", "Basic " + READ_TOKEN):
        assert site.get(f"/api/v1/tickets/{ticket_id}", token=token).status_code == 401
        for method, path, body in (
            ("PATCH", f"/api/v1/tickets/{ticket_id}", {"status": "closed"}),
            ("POST", f"/api/v1/tickets/{ticket_id}/notes", {"text": "hello"}),
            ("POST", f"/api/v1/tickets/{ticket_id}/replies", {"text": "hi", "author": AGENT}),
        ):
            response = site.send(method, path, token=token, json=body)
            assert response.status_code == 401, (method, path)
            assert response.headers["www-authenticate"].startswith("Bearer")
            forbidden = site.send(method, path, token=READ_TOKEN, json=body)
            assert forbidden.status_code == 403
            assert forbidden.json() == {
                "error": "forbidden",
                "detail": "token dashboard may only read",
            }
    assert site.ticket(ticket_id) == before
    assert site.get("/api/v1/tickets/1", token=WRITE_TOKEN).status_code == 200


def test_changes_notes_and_replies_go_through_the_services(site: ApiSite) -> None:
    ticket_id = _id(site, "Case 2")
    changed = site.send(
        "PATCH",
        f"/api/v1/tickets/{ticket_id}",
        json={"priority": "high", "assignee": AGENT, "tags": ["billing", "Billing"]},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["priority"] == "high"
    assert changed.json()["assignee"] == AGENT
    assert changed.json()["tags"] == ["billing"]
    assert changed.json()["events"][-1]["actor"] == "api:crm"
    note = site.send(
        "POST", f"/api/v1/tickets/{ticket_id}/notes", json={"text": "Called them.", "author": AGENT}
    )
    assert note.status_code == 201, note.text
    reply = site.send(
        "POST",
        f"/api/v1/tickets/{ticket_id}/replies",
        json={"text": "We are on it.\n\nAlice", "author": AGENT},
    )
    assert reply.status_code == 201, reply.text
    assert reply.json()["outcome"] == "agent_reply"
    ticket = site.ticket(ticket_id)
    assert ticket["status"] == "pending"  # an answer waits on the customer, as by mail
    kinds = [(m["kind"], m["new_text"]) for m in ticket["messages"] if m["direction"] == "in"]
    assert ("note", "Called them.") in kinds
    assert ("agent", "We are on it.\n\nAlice") in kinds

    until(lambda: any("We are on it." in text for text in site.texts_to("c2@example.com")))


def test_bad_input_gets_a_clear_4xx_and_the_service_goes_on(site: ApiSite) -> None:
    ticket_id = _id(site, "Case 3")
    path = f"/api/v1/tickets/{ticket_id}"
    cases = [
        (413, "too_large", {"data": b"{" + b" " * (2 * 1024 * 1024) + b"}"}),
        (400, "invalid_json", {"data": b'{"status": '}),
        (422, "unknown_field", {"json": {"status": "open", "colour": "red"}}),
        (422, "invalid", {"json": {"status": "exploded"}}),
        (422, "invalid", {"json": ["status", "open"]}),
        (422, "invalid", {"json": {"assignee": "nobody@example.com"}}),
        (422, "invalid", {"json": {"tags": ["two words"]}}),
    ]
    for status, code, body in cases:
        headers = {"Content-Type": "application/json"} if "data" in body else {}
        response = site.send("PATCH", path, headers=headers, **body)
        assert response.status_code == status, (body, response.text[:200])
        assert response.json()["error"] == code
        assert response.json()["detail"]
    assert site.send("PATCH", path, data="status=open").status_code == 415
    assert site.ticket(ticket_id)["status"] == "open"
    assert site.get("/healthz", token=None).status_code == 200


def test_a_reply_to_a_merged_ticket_is_refused_and_names_where_it_went(site: ApiSite) -> None:
    source, target = _id(site, "Case 3"), _id(site, "Log attached")
    merged = site.send(
        "POST",
        f"/api/v1/tickets/{source}/replies",
        json={"text": f"#merge {target}", "author": AGENT},
    )
    assert merged.status_code == 201, merged.text
    assert merged.json()["outcome"] == "commands"
    refused = site.send(
        "POST", f"/api/v1/tickets/{source}/replies", json={"text": "Hello?", "author": AGENT}
    )
    assert refused.status_code == 409
    assert refused.json() == {
        "error": "merged",
        "detail": f"ticket #{source} was merged into #{target}; reply there",
    }
    before = site.ticket(target)
    bad_command = site.send(
        "POST",
        f"/api/v1/tickets/{target}/replies",
        json={"text": "#merge 999999\nsee there", "author": AGENT},
    )
    assert bad_command.status_code == 422
    assert "there is no ticket #999999" in bad_command.json()["detail"]
    assert site.ticket(target) == before  # refused commands change and send nothing


def test_a_slow_client_holds_up_nobody(site: ApiSite) -> None:
    host, port = site.base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as slow:
        slow.sendall(
            f"POST /api/v1/tickets/1/notes HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {WRITE_TOKEN}\r\nContent-Type: application/json\r\n"
            'Content-Length: 1000\r\n\r\n{"text": "'.encode()
        )
        # While that body is still on its way, others are answered.
        assert site.get("/api/v1/tickets/1").status_code == 200
        assert site.get("/healthz", token=None).status_code == 200
    assert site.get("/metrics", token=None).status_code == 200


def test_reports_and_a_customers_history(site: ApiSite) -> None:
    for kind in ("volume", "agents", "csat", "sla"):
        response = site.get(f"/api/v1/reports/{kind}", params={"since": "2020-01-01"})
        assert response.status_code == 200, kind
        assert response.json()["report"] == kind
    volume = site.get("/api/v1/reports/volume", params={"since": "2020-01-01"}).json()
    assert sum(row["created"] for row in volume["rows"]) >= 3
    contact = site.get("/api/v1/contacts/ana@example.com").json()
    assert contact["address"] == "ana@example.com"
    assert [t["subject"] for t in contact["tickets"]] == ["Log attached"]
    assert site.get("/api/v1/reports/volume", params={"since": "yesterday"}).status_code == 400


def test_the_openapi_document_is_served_to_token_holders(site: ApiSite) -> None:
    document = site.get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert "/tickets/{ticket_id}/replies" in document["paths"]
    assert document["components"]["schemas"]["Reply"]["properties"]["author"]["enum"] == [AGENT]
    assert site.get("/api/v1/openapi.json", token=None).status_code == 401


@pytest.mark.postgres
def test_writes_and_files_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    with api_site(tmp_path, tickets=2, database=postgres_url) as pg:
        with_file, other = _id(pg, "Log attached"), _id(pg, "Case 2")
        assert pg.get(f"/api/v1/tickets/{with_file}/attachments/1").content == FILE_BYTES
        assert pg.get(f"/api/v1/tickets/{other}/attachments/1").status_code == 404
        # Past PostgreSQL's 32-bit ids: no such ticket, not a database error.
        assert pg.get("/api/v1/tickets/2147483648").status_code == 404
        assert pg.get("/api/v1/tickets", params={"cursor": "2147483647"}).json()["tickets"] == []
        changed = pg.send(
            "PATCH", f"/api/v1/tickets/{other}", json={"status": "resolved", "tags": ["vip"]}
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["status"] == "resolved"
        reply = pg.send(
            "POST",
            f"/api/v1/tickets/{other}/replies",
            json={"text": "#priority urgent\nDone, thanks.", "author": AGENT},
        )
        assert reply.status_code == 201, reply.text
        ticket = pg.ticket(other)
        assert ticket["priority"] == "urgent"
        answers = [m["new_text"] for m in ticket["messages"] if m["kind"] == "agent"]
        assert answers == ["Done, thanks."]
        until(lambda: any("Done, thanks." in text for text in pg.texts_to("c2@example.com")))
        assert pg.get("/api/v1/contacts/c2@example.com").json()["open"] == 0
