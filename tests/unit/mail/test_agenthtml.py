"""The agent's HTML answer as the customer gets it: their words and formatting, nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailtickets.mail.agenthtml import MAX_HTML_CHARS, reply_html
from mailtickets.mail.htmltext import html_to_text

AGENTS = Path(__file__).parents[2] / "data" / "agents"
CLIENTS = ("gmail", "thunderbird", "outlook")
LOGOS = {"ii_logo01": "logo.1@mailtickets", "image001.png@01DB0C2A.5E3F8A10": "logo.2@mailtickets"}


@pytest.mark.parametrize("client", CLIENTS)
def test_each_client_keeps_the_agents_words_and_formatting_only(client: str) -> None:
    reply = reply_html((AGENTS / f"{client}.html").read_text(), LOGOS)
    assert reply is not None
    html = reply.html
    assert "<b>unplug</b>" in html
    assert (
        '<a href="https://acme.example/kb/42" rel="noopener noreferrer">the reset guide</a>' in html
    )
    text = html_to_text(html)
    assert text.startswith("Hi Ana,")
    assert "printer is on fire" not in text  # the quoted notice
    assert "New ticket #1" not in text
    assert "Alice Agent | ACME Support" not in text  # the client's signature: ours is added
    assert reply.shown == frozenset()  # the logo belonged to that signature
    for hostile in ("<script", "javascript:", "tracker.example", "onerror", "onclick", "evil"):
        assert hostile not in html
    assert "Details" in text  # the text of the link whose target was dropped


def test_command_lines_at_the_top_are_cut_wherever_the_client_put_them() -> None:
    cases = [
        "<div>#resolve</div><div>#tag billing</div><div><br></div><div>All fixed.</div>",
        "<p>#status pending<br>#assign me<br></p><p>All fixed.</p>",
        '<p class="MsoNormal">#resolve<o:p></o:p></p><p class="MsoNormal"><o:p>&nbsp;</o:p></p>'
        '<p class="MsoNormal">All fixed.<o:p></o:p></p>',
        "<div>#resolve<br><br>All fixed.</div>",
    ]
    for source in cases:
        reply = reply_html(source, {})
        assert reply is not None, source
        assert html_to_text(reply.html) == "All fixed.", source
        assert "#" not in reply.html, source


def test_a_hash_line_after_the_text_is_prose() -> None:
    reply = reply_html("<p>Check these:</p><p>#1 the cable</p>", {})
    assert reply is not None
    assert html_to_text(reply.html) == "Check these:\n\n#1 the cable"
    reply = reply_html("<p>Done.</p><p>#tag is how we label tickets</p>", {})
    assert reply is not None
    assert "#tag is how we label tickets" in reply.html


def test_attached_images_are_renamed_and_others_dropped_with_their_alt_text() -> None:
    source = (
        '<p>Like this: <img src="cid:shot@agent.example" alt="the screen"></p>'
        '<p><img src="cid:nothing@agent.example" alt="a missing diagram"></p>'
        '<p><img src="data:image/png;base64,iVBORw0KGgo=" alt="pasted"></p>'
        '<p><img src="https://cdn.example/pic.png" alt="remote"></p>'
        '<p><img src="//cdn.example/pic.png"><img src="CID:SHOT%40agent.example"></p>'
    )
    reply = reply_html(source, {"shot@agent.example": "f1.12@mailtickets"})
    assert reply is not None
    assert reply.html.count('src="cid:f1.12@mailtickets"') == 2
    assert reply.shown == frozenset({"shot@agent.example"})
    for gone in ("nothing@", "data:", "cdn.example"):
        assert gone not in reply.html
    text = html_to_text(reply.html)
    assert "a missing diagram" in text and "pasted" in text and "remote" in text


def test_nothing_executable_or_remote_survives() -> None:
    source = (
        '<p style="color:red;background-image:url(https://t.example/x)">Red</p>'
        '<iframe src="https://evil.example"></iframe><form action="https://evil.example">'
        '<input name="card"></form><object data="x.swf"></object><svg><script>1</script></svg>'
        '<a href="https://acme.example" onmouseover="x()">Site</a><!-- a comment -->'
        '<link rel="stylesheet" href="https://t.example/s.css"><base href="https://evil.example/">'
        '<meta http-equiv="refresh" content="0;url=https://evil.example">'
        '<a href="vbscript:msgbox">vb</a><a href="data:text/html,<script>1</script>">data</a>'
    )
    reply = reply_html(source, {})
    assert reply is not None
    html = reply.html
    assert '<p style="color:red">Red</p>' in html
    for hostile in ("iframe", "form", "input", "object", "svg", "script", "onmouseover"):
        assert hostile not in html
    for hostile in ("t.example", "evil.example", "vbscript", "data:", "comment", "refresh"):
        assert hostile not in html
    assert '<a href="https://acme.example" rel="noopener noreferrer">Site</a>' in html


def test_lists_and_line_breaks_are_kept() -> None:
    reply = reply_html("<p>Steps:<br>first this</p><ol><li>One</li><li><i>Two</i></li></ol>", {})
    assert reply is not None
    assert "<br>" in reply.html
    assert "<ol><li>One</li><li><i>Two</i></li></ol>" in reply.html


@pytest.mark.parametrize(
    "source",
    [
        "",
        "   ",
        "<p>#resolve</p>",
        "<html><head><title>x</title></head><body><div><br></div></body></html>",
        # Bottom-posting: nothing above the quote, so nothing of the HTML to send.
        '<blockquote type="cite">the printer is on fire</blockquote><p>Unplug it.</p>',
    ],
)
def test_nothing_to_send_is_none(source: str) -> None:
    assert reply_html(source, {}) is None


def test_html_over_the_limit_is_not_read() -> None:
    huge = "<p>" + "word " * (MAX_HTML_CHARS // 5 + 1) + "</p>"
    assert reply_html(huge, {}) is None
    # Embedded images do not count: they are dropped before measuring.
    pasted = f'<p>Hi</p><img src="data:image/png;base64,{"A" * MAX_HTML_CHARS}">'
    reply = reply_html(pasted, {})
    assert reply is not None
    assert html_to_text(reply.html) == "Hi"


def test_malformed_markup_gives_text_not_an_error() -> None:
    reply = reply_html("<p>Fine <b>bold <i>both</p></b> after <<<", {})
    assert reply is not None
    assert "bold" in html_to_text(reply.html)
    # lxml refuses a str that declares an encoding: the caller then sends the text.
