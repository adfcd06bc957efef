"""parse_commands(): every command and alias, arguments, errors, block boundaries, invariants."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailtickets.mail.commands import (
    HELP,
    MAX_COMMANDS,
    MAX_LINE,
    Command,
    CommandError,
    Parsed,
    final_status,
    parse_commands,
)


def _one(line: str) -> Command | CommandError:
    parsed = parse_commands(f"{line}\n\nHello Ana,\nall done.")
    assert parsed.text == "Hello Ana,\nall done."
    results: list[Command | CommandError] = [*parsed.commands, *parsed.errors]
    assert len(results) == 1
    return results[0]


_FILES_NEEDS = '"#files" takes nothing, or the number of one file of the ticket, such as 2'


@pytest.mark.parametrize(
    ("line", "name", "argument"),
    [
        # status: English and Portuguese names and values, any case
        ("#status open", "status", "open"),
        ("#status pending", "status", "pending"),
        ("#status resolved", "status", "resolved"),
        ("#status closed", "status", "closed"),
        ("#STATUS Closed", "status", "closed"),
        ("#estado aberto", "status", "open"),
        ("#estado aberta", "status", "open"),
        ("#situacao pendente", "status", "pending"),
        ("#situação resolvido", "status", "resolved"),
        ("#Situação resolvida", "status", "resolved"),
        ("#situac\u0327a\u0303o fechado", "status", "closed"),  # decomposed (NFD) accents
        ("#estado FECHADA", "status", "closed"),
        ("#status fechado", "status", "closed"),  # values mix freely with names
        # assign
        ("#assign me", "assign", "me"),
        ("#assign ME", "assign", "me"),
        ("#atribuir eu", "assign", "me"),
        ("#assign Bruno@ACME.example", "assign", "bruno@acme.example"),
        ("#atribuir bruno@acme.example", "assign", "bruno@acme.example"),
        ("#assign <bruno@acme.example>", "assign", "bruno@acme.example"),
        ("#assign bruno@acme.example<mailto:bruno@acme.example>", "assign", "bruno@acme.example"),
        ("#assign bruno@acme.example <mailto:Bruno@acme.example>", "assign", "bruno@acme.example"),
        # priority
        ("#priority low", "priority", "low"),
        ("#priority normal", "priority", "normal"),
        ("#priority high", "priority", "high"),
        ("#priority urgent", "priority", "urgent"),
        ("#prioridade baixa", "priority", "low"),
        ("#prioridade normal", "priority", "normal"),
        ("#prioridade alta", "priority", "high"),
        ("#prioridade urgente", "priority", "urgent"),
        ("#Priority URGENTE", "priority", "urgent"),
        # note
        ("#note", "note", ""),
        ("#nota", "note", ""),
        ("#interno", "note", ""),
        ("#NOTE", "note", ""),
        # cc / uncc
        ("#cc ana@example.com", "cc", "ana@example.com"),
        ("#cc Ana.Silva+billing@Example.COM.br", "cc", "ana.silva+billing@example.com.br"),
        ("#uncc ana@example.com", "uncc", "ana@example.com"),
        ("#cc josé@correio.exemplo.pt", "cc", "josé@correio.exemplo.pt"),
        # #cc add|keep|remove, as RT and Zendesk users write them, in both languages
        ("#cc add ana@example.com", "cc", "ana@example.com"),
        ("#cc ADD <Ana@Example.com>", "cc", "ana@example.com"),
        ("#cópia adicionar ana@example.com", "cc", "ana@example.com"),
        ("#cc incluir ana@example.com", "cc", "ana@example.com"),
        ("#cc keep", "cc_keep", ""),
        ("#cc manter", "cc_keep", ""),
        ("#cc remove ana@example.com", "uncc", "ana@example.com"),
        ("#copia remover ana@example.com", "uncc", "ana@example.com"),
        # tag
        ("#tag billing", "tag", "billing"),
        ("#tag Printer-E42_x", "tag", "printer-e42_x"),
        ("#etiqueta faturação", "tag", "faturação"),
        ("#tag " + "a" * 50, "tag", "a" * 50),
        # close / resolve
        ("#close", "close", ""),
        ("#fechar", "close", ""),
        ("#resolve", "resolve", ""),
        ("#resolver", "resolve", ""),
        # merge
        ("#merge 123", "merge", "123"),
        ("#merge #123", "merge", "123"),
        ("#mesclar 7", "merge", "7"),
        ("#juntar #0042", "merge", "42"),
        ("#merge 999999999999", "merge", "999999999999"),
        # macro
        ("#macro refund-policy", "macro", "refund-policy"),
        ("#macro Reset_Password2", "macro", "reset_password2"),
        # customer
        ("#customer ana@example.com", "customer", "ana@example.com"),
        ("#cliente Ana@Example.com", "customer", "ana@example.com"),
        ("#files", "files", ""),
        ("#files 2", "files", "2"),
        ("#anexos #12", "files", "12"),
        ("#Arquivos 007", "files", "7"),
        # history
        ("#history", "history", ""),
        ("#histórico", "history", ""),
        ("#historico", "history", ""),
        # held answers
        ("#send", "send", ""),
        ("#Enviar", "send", ""),
        ("#discard", "discard", ""),
        ("#descartar", "discard", ""),
        # spacing
        ("   #status\t\tclosed   ", "status", "closed"),
        ("#status\u00a0closed", "status", "closed"),  # no-break space, as pasted from HTML
    ],
)
def test_commands_and_aliases(line: str, name: str, argument: str) -> None:
    assert _one(line) == Command(name, argument, line.strip())


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("#priorty high", 'unknown command "#priorty"'),
        ("#status: closed", 'unknown command "#status:"'),
        ("#hashtag", 'unknown command "#hashtag"'),
        ("#closed", 'unknown command "#closed"'),
        ("#status", '"#status" needs one of open, pending, resolved, closed'),
        ("#status done", '"#status" needs one of open, pending, resolved, closed'),
        ("#status open closed", '"#status" needs one of open, pending, resolved, closed'),
        ("#Estado feito", '"#Estado" needs one of open, pending, resolved, closed'),
        ("#priority", '"#priority" needs one of low, normal, high, urgent'),
        ("#priority critical", '"#priority" needs one of low, normal, high, urgent'),
        ("#prioridade média", '"#prioridade" needs one of low, normal, high, urgent'),
        ("#assign", '"#assign" needs one agent address, or me'),
        ("#assign bruno", '"#assign" needs one agent address, or me'),
        ("#assign me bruno@acme.example", '"#assign" needs one agent address, or me'),
        ("#note something", '"#note" takes no argument'),
        ("#nota interna", '"#nota" takes no argument'),
        ("#close now", '"#close" takes no argument'),
        ("#resolve please", '"#resolve" takes no argument'),
        ("#cc", '"#cc" needs one plain address, such as ana@example.com'),
        ("#cc add", '"#cc" needs one plain address, such as ana@example.com'),
        ("#cc keep ana@example.com", '"#cc" takes no address: it keeps every pending participant'),
        (
            "#cc ana@example.com, bob@example.com",
            '"#cc" needs one plain address, such as ana@example.com',
        ),
        (
            "#cc ana@example.com bob@example.com",
            '"#cc" needs one plain address, such as ana@example.com',
        ),
        ("#cc Ana <ana@example.com>", '"#cc" needs one plain address, such as ana@example.com'),
        ('#cc "ana"@example.com', '"#cc" needs one plain address, such as ana@example.com'),
        ("#cc ana@@example.com", '"#cc" needs one plain address, such as ana@example.com'),
        ("#cc @example.com", '"#cc" needs one plain address, such as ana@example.com'),
        ("#cc ana@", '"#cc" needs one plain address, such as ana@example.com'),
        ("#cc ana@gmail", '"#cc" needs one plain address, such as ana@example.com'),
        ("#cc ana@example..com", '"#cc" needs one plain address, such as ana@example.com'),
        ("#cc ana@-example.com", '"#cc" needs one plain address, such as ana@example.com'),
        ("#cc ana\x00@example.com", '"#cc" needs one plain address, such as ana@example.com'),
        ("#cc a@b.com<mailto:c@d.com>", '"#cc" needs one plain address, such as ana@example.com'),
        (
            "#cc " + "a" * 65 + "@example.com",
            '"#cc" needs one plain address, such as ana@example.com',
        ),
        ("#uncc everyone", '"#uncc" needs one plain address, such as ana@example.com'),
        ("#customer", '"#customer" needs one plain address, such as ana@example.com'),
        ("#files all", _FILES_NEEDS),
        ("#files 0", _FILES_NEEDS),
        ("#files 1 2", _FILES_NEEDS),
        ("#files 1234567", _FILES_NEEDS),
        ("#history all", '"#history" takes no argument'),
        ("#send now", '"#send" takes no argument'),
        ("#descartar tudo", '"#descartar" takes no argument'),
        ("#tag", '"#tag" needs one word of letters, digits, - and _ (at most 50 characters)'),
        (
            "#tag two words",
            '"#tag" needs one word of letters, digits, - and _ (at most 50 characters)',
        ),
        ("#tag a.b", '"#tag" needs one word of letters, digits, - and _ (at most 50 characters)'),
        ("#tag --", '"#tag" needs one word of letters, digits, - and _ (at most 50 characters)'),
        (
            "#tag " + "a" * 51,
            '"#tag" needs one word of letters, digits, - and _ (at most 50 characters)',
        ),
        ("#macro", '"#macro" needs one name of letters, digits, - and _ (at most 50 characters)'),
        (
            "#macro a/b",
            '"#macro" needs one name of letters, digits, - and _ (at most 50 characters)',
        ),
        ("#merge", '"#merge" needs a ticket number, such as 123 or #123'),
        ("#merge 0", '"#merge" needs a ticket number, such as 123 or #123'),
        ("#merge -5", '"#merge" needs a ticket number, such as 123 or #123'),
        ("#merge 12a", '"#merge" needs a ticket number, such as 123 or #123'),
        ("#merge ##12", '"#merge" needs a ticket number, such as 123 or #123'),
        ("#merge # 12", '"#merge" needs a ticket number, such as 123 or #123'),
        ("#merge 1 2", '"#merge" needs a ticket number, such as 123 or #123'),
        ("#merge ١٢٣", '"#merge" needs a ticket number, such as 123 or #123'),  # Arabic digits
        ("#merge 1234567890123", '"#merge" needs a ticket number, such as 123 or #123'),
    ],
)
def test_errors_name_the_command_and_what_it_needs(line: str, reason: str) -> None:
    assert _one(line) == CommandError(line, reason)


def test_help_has_one_line_per_command() -> None:
    names = ["status", "assign", "priority", "note", "cc", "cc", "cc", "tag", "close", "resolve"]
    names += [
        "merge",
        "macro",
        "customer",
        "files",
        "history",
        "follow",
        "unfollow",
        "away",
        "back",
        "send",
        "discard",
    ]
    assert [line.split()[0] for line in HELP] == [f"#{name}" for name in names]
    for line in HELP:
        parsed = parse_commands(line.split()[0])
        assert not any(e.reason.startswith("unknown") for e in parsed.errors), line


def test_a_whole_reply() -> None:
    body = (
        "#status pending\r\n"
        "\r\n"
        "#assign me\r\n"
        "#priorty high\r\n"
        "  #tag billing\r\n"
        "\r\n"
        "Hello Ana,\r\n"
        "\r\n"
        "#1 priority for us is your invoice.\r\n"
        "#status closed\r\n"
        "Bruno\r\n"
    )
    assert parse_commands(body) == Parsed(
        commands=(
            Command("status", "pending", "#status pending"),
            Command("assign", "me", "#assign me"),
            Command("tag", "billing", "#tag billing"),
        ),
        errors=(CommandError("#priorty high", 'unknown command "#priorty"'),),
        text="Hello Ana,\n\n#1 priority for us is your invoice.\n#status closed\nBruno",
    )


@pytest.mark.parametrize(
    ("body", "commands", "text"),
    [
        ("", 0, ""),
        ("Hello", 0, "Hello"),
        ("#note", 1, ""),
        ("\n\n  #note  \n\n", 1, ""),
        ("#note\n\n\n#close\n\nText", 2, "Text"),
        ("Text first\n#close", 0, "Text first\n#close"),
        ("#123 is my order number\n#close", 0, "#123 is my order number\n#close"),
        ("#close\n#123 is my order number", 1, "#123 is my order number"),
        ("# Heading\n#close", 0, "# Heading\n#close"),
        ("#\n#close", 0, "#\n#close"),
        ("##close", 0, "##close"),
        ("> #close\n#note", 0, "> #close\n#note"),
        ("#close\n> quoted\n#note", 1, "> quoted\n#note"),
        ("#close\r\rText\rmore", 1, "Text\nmore"),
        ("#close\n  indented text\n\n", 1, "indented text"),
        ("\u00a0\n#close\n\u2003\nOlá", 1, "Olá"),
    ],
)
def test_the_block_is_the_top_of_the_text(body: str, commands: int, text: str) -> None:
    parsed = parse_commands(body)
    assert (len(parsed.commands), parsed.errors, parsed.text) == (commands, (), text)


def test_line_endings_do_not_matter() -> None:
    body = "#status closed\n\n#tag x\nThanks,\nBruno\n"
    expected = parse_commands(body)
    assert parse_commands(body.replace("\n", "\r\n")) == expected
    assert parse_commands(body.replace("\n", "\r")) == expected


def test_errors_do_not_stop_the_parse() -> None:
    parsed = parse_commands("#bogus\n#status nope\n#close\n#note x\n#tag ok\ntext")
    assert [c.name for c in parsed.commands] == ["close", "tag"]
    assert [e.line for e in parsed.errors] == ["#bogus", "#status nope", "#note x"]
    assert parsed.text == "text"


def test_too_many_commands() -> None:
    lines = [f"#tag t{n}" for n in range(MAX_COMMANDS + 10)]
    parsed = parse_commands("\n".join([*lines, "Hello"]))
    assert [c.argument for c in parsed.commands] == [f"t{n}" for n in range(MAX_COMMANDS)]
    assert parsed.errors == (
        CommandError(f"#tag t{MAX_COMMANDS}", "too many commands (at most 50)"),
    )
    assert parsed.text == "Hello"


def test_an_overlong_command_line_is_an_error() -> None:
    line = "#tag " + "x" * MAX_LINE
    parsed = parse_commands(f"{line}\n#close\nHi")
    assert parsed.commands == (Command("close", "", "#close"),)
    assert parsed.errors == (
        CommandError(line[:80] + "…", "command line longer than 500 characters"),
    )
    assert parsed.text == "Hi"


def test_a_line_of_exactly_the_limit_is_read() -> None:
    line = "#macro " + "x" * (MAX_LINE - len("#macro "))
    assert _one(line) == CommandError(
        line, '"#macro" needs one name of letters, digits, - and _ (at most 50 characters)'
    )


def test_huge_input_is_handled_in_one_pass() -> None:
    # Quadratic work would make this test take minutes rather than milliseconds.
    parsed = parse_commands("#tag x\n" * 200_000 + "y" * 1_000_000)
    assert len(parsed.commands) == MAX_COMMANDS
    assert len(parsed.text) == 1_000_000
    assert parse_commands("#" + "a" * 1_000_000).errors[0].reason.startswith("command line")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("", None),
        ("#note\n#tag x", None),
        ("#status pending", "pending"),
        ("#close", "closed"),
        ("#resolve", "resolved"),
        ("#status pending\n#close", "closed"),
        ("#close\n#status open", "open"),  # the last one wins, without an error
        ("#resolve\n#status pending\n#fechar", "closed"),
        ("#close\n#status nope", "closed"),  # an invalid status changes nothing
    ],
)
def test_final_status_is_the_last_one_set(body: str, expected: str | None) -> None:
    assert final_status(parse_commands(body).commands) == expected


def test_duplicates_are_kept_in_order() -> None:
    parsed = parse_commands("#priority low\n#cc a@x.example\n#priority high\n#cc b@x.example")
    assert [(c.name, c.argument) for c in parsed.commands] == [
        ("priority", "low"),
        ("cc", "a@x.example"),
        ("priority", "high"),
        ("cc", "b@x.example"),
    ]
    assert parsed.errors == ()


_FRAGMENTS = st.sampled_from(
    [
        "#status closed",
        "#estado fechado",
        "#note",
        "#note x",
        "#cc ana@example.com",
        "#merge #12",
        "#tag ação",
        "#priorty high",
        "#",
        "#123",
        "  #close  ",
        "",
        "  ",
        "> quoted",
        "Hello",
        "#1 priority",
        "\u2028",
        "\x1c",
        "\x85",
        "#" + "z" * 600,
    ]
)
_SEPARATORS = st.sampled_from(["\n", "\r\n", "\r", "\n\n"])


@st.composite
def _bodies(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        return draw(st.text())
    parts = draw(st.lists(st.one_of(_FRAGMENTS, st.text(max_size=20)), max_size=70))
    return "".join(part + draw(_SEPARATORS) for part in parts)


def _top_hash_lines(body: str) -> int:
    count = 0
    for line in body.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line.strip().startswith("#"):
            count += 1
        elif line.strip():
            break
    return count


@given(_bodies())
def test_never_raises_and_only_returns_the_input(body: str) -> None:
    parsed = parse_commands(body)
    normalised = body.replace("\r\n", "\n").replace("\r", "\n")
    assert normalised.rstrip().endswith(parsed.text)
    assert all(line in normalised for line in parsed.text.split("\n"))
    assert len(parsed.commands) + len(parsed.errors) <= _top_hash_lines(body)
    assert all(command.line in body for command in parsed.commands)
    assert all(error.line.removesuffix("…") in body for error in parsed.errors)


@pytest.mark.parametrize(
    ("line", "argument"),
    [
        ("#follow", ""),
        ("#seguir bruno@acme.example", "bruno@acme.example"),
        ("#unfollow <Bruno@Acme.example>", "bruno@acme.example"),
        ("#away", ""),
        ("#away until 2026-12-24", "2026-12-24"),
        ("#ausente até 24/12/2026", "2026-12-24"),
        ("#back", ""),
    ],
)
def test_team_commands(line: str, argument: str) -> None:
    (command,) = parse_commands(line).commands
    assert command.argument == argument


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (
            "#away tomorrow",
            '"#away" takes nothing, or until a date such as 2026-12-24 or 24/12/2026',
        ),
        (
            "#away until soon",
            '"#away" takes nothing, or until a date such as 2026-12-24 or 24/12/2026',
        ),
        (
            "#away until 2026-02-30",
            '"#away" takes nothing, or until a date such as 2026-12-24 or 24/12/2026',
        ),
        ("#follow not-an-address", '"#follow" takes nothing, or one agent\'s address'),
        ("#back now", '"#back" takes no argument'),
    ],
)
def test_team_command_errors(line: str, reason: str) -> None:
    assert _one(line) == CommandError(line, reason)
