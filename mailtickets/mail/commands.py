"""Agent commands: the `#status closed`, `#assign me`, ... lines at the top of an agent's reply.

`parse_commands` takes the agent's new text (quotes already removed, see `quotes.new_text`)
and splits it into commands, errors and the text that goes to the customer. The rules:

1. The command block is the top of the text: lines whose first non-blank character is `#`
   followed by a letter, with blank lines allowed between them. The first other non-blank
   line ends the block, and it and everything after it are text: a `#` line further down
   ("#1 priority is ...") is prose, and so is a top line such as "#123 is my order number"
   or "# Heading", which are not `#<letter>`.
2. A command is one line: `#name argument`. Names are matched case-insensitively in English
   and Portuguese (`#estado`, `#atribuir`, `#nota`, ...) and reported under their canonical
   English name; status and priority values are accepted in both languages and reported in
   English, because that is what the ticket columns hold.
3. Every command line in the block yields exactly one `Command` or one `CommandError`; the
   parse never stops at an error, so an agent learns about all their mistakes in one mail.
   Arguments are strict: `#note something` is an error, not a note followed by text, since
   guessing which words were meant for the customer could mail them an internal remark.
4. Commands come back in the order written, duplicates included; a caller applying them in
   order makes the last `#status`, `#assign`, `#priority` or `#customer` win, which is the
   documented behaviour (no error). `#close` and `#resolve` keep their own names, and
   `final_status` folds them together with `#status` into the one status to set.
5. At most `MAX_COMMANDS` command lines are read; the first line beyond that is reported as
   "too many commands" and the rest of the block is ignored (neither commands nor text).
   A command line longer than `MAX_LINE` characters is an error.

`Command.line` and `CommandError.line` hold the line as written, stripped of surrounding
whitespace (an over-long line is shortened in its error). `Parsed.text` is the rest of the
input after the block, verbatim except that line endings become "\\n" and it is stripped.
The parser is linear in the size of its input and raises on no input.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from mailtickets.mail.absence import parse_date
from mailtickets.mail.addresses import MAX_ADDRESS

MAX_COMMANDS = 50
MAX_LINE = 500
MAX_WORD = 50
STATUSES = ("open", "pending", "resolved", "closed")
PRIORITIES = ("low", "normal", "high", "urgent")

#: One line per command, in the syntax agents write; shown in agent mails and error mails.
HELP: tuple[str, ...] = (
    "#status open|pending|resolved|closed",
    "#assign <agent address>|me",
    "#priority low|normal|high|urgent",
    "#note",
    "#cc add <address>",
    "#cc keep",
    "#cc remove <address>",
    "#tag <word>",
    "#close",
    "#resolve",
    "#merge <ticket number>",
    "#macro <name>",
    "#customer <address>",
    "#files [<file number>]",
    "#history",
    "#follow [<agent address>]",
    "#unfollow [<agent address>]",
    "#away [until <date>]",
    "#back",
    "#send",
    "#discard",
)

# Ticket tags in subjects allow twelve digits (see subjects.ticket_in_tag).
_MAX_TICKET_DIGITS = 12
_MAX_FILE_DIGITS = 6
_SHOWN_CHARS = 80
_LOCAL_PART_MAX = 64
_DOMAIN_MAX = 255
_LABEL_MAX = 63
_ADDRESS_SPECIALS = frozenset('<>()[]\\,;:"@')
_WORD_EXTRA = frozenset("0123456789-_")

_NAMES = {
    "status": "status",
    "estado": "status",
    "situacao": "status",
    "situação": "status",
    "assign": "assign",
    "atribuir": "assign",
    "priority": "priority",
    "prioridade": "priority",
    "note": "note",
    "nota": "note",
    "interno": "note",
    "cc": "cc",
    "copia": "cc",
    "cópia": "cc",
    "uncc": "uncc",
    "tag": "tag",
    "etiqueta": "tag",
    "close": "close",
    "fechar": "close",
    "resolve": "resolve",
    "resolver": "resolve",
    "merge": "merge",
    "mesclar": "merge",
    "juntar": "merge",
    "macro": "macro",
    "customer": "customer",
    "cliente": "customer",
    "files": "files",
    "arquivos": "files",
    "anexos": "files",
    "history": "history",
    "historico": "history",
    "histórico": "history",
    "follow": "follow",
    "seguir": "follow",
    "unfollow": "unfollow",
    "desseguir": "unfollow",
    "away": "away",
    "ausente": "away",
    "back": "back",
    "voltei": "back",
    "send": "send",
    "enviar": "send",
    "discard": "discard",
    "descartar": "discard",
}
_STATUS_VALUES = {
    **{status: status for status in STATUSES},
    "aberto": "open",
    "aberta": "open",
    "pendente": "pending",
    "resolvido": "resolved",
    "resolvida": "resolved",
    "fechado": "closed",
    "fechada": "closed",
}
_PRIORITY_VALUES = {
    **{priority: priority for priority in PRIORITIES},
    "baixa": "low",
    "alta": "high",
    "urgente": "urgent",
}
_ME = frozenset({"me", "eu"})
_UNTIL = frozenset({"until", "até", "ate"})
#: `#cc add|keep|remove`, as RT and Zendesk users write it: the word after `#cc` names the
#: command. `#cc <address>` alone adds, and `#uncc <address>` removes, as before.
_CC_WORDS = {
    "add": "cc",
    "adicionar": "cc",
    "incluir": "cc",
    "keep": "cc_keep",
    "manter": "cc_keep",
    "remove": "uncc",
    "remover": "uncc",
    "tirar": "uncc",
}
_STATUS_OF = {"close": "closed", "resolve": "resolved"}


@dataclass(frozen=True)
class Command:
    name: str  # canonical English name, a key of the table in _SYNTAX
    argument: str  # normalised; "" for commands that take none
    line: str  # as written, stripped


@dataclass(frozen=True)
class CommandError:
    line: str
    reason: str  # short, English: 'unknown command "#priorty"'


@dataclass(frozen=True)
class Parsed:
    commands: tuple[Command, ...]
    errors: tuple[CommandError, ...]
    text: str  # what follows the command block, stripped: what goes to the customer


def parse_commands(new_text: str) -> Parsed:
    """Split an agent's new text into its leading commands, their errors, and the rest."""
    lines = new_text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    end = _block_end(lines)
    block = [stripped for stripped in (line.strip() for line in lines[:end]) if stripped]
    commands: list[Command] = []
    errors: list[CommandError] = []
    for line in block[:MAX_COMMANDS]:
        result = _parse_line(line)
        if isinstance(result, Command):
            commands.append(result)
        else:
            errors.append(result)
    if len(block) > MAX_COMMANDS:
        extra = block[MAX_COMMANDS]
        errors.append(CommandError(_shorten(extra), f"too many commands (at most {MAX_COMMANDS})"))
    text = "\n".join(lines[end:]).strip()
    return Parsed(tuple(commands), tuple(errors), text)


def final_status(commands: Iterable[Command]) -> str | None:
    """The status the last `#status`, `#close` or `#resolve` sets, or None if none does."""
    status: str | None = None
    for command in commands:
        if command.name == "status":
            status = command.argument
        elif command.name in _STATUS_OF:
            status = _STATUS_OF[command.name]
    return status


def _block_end(lines: list[str]) -> int:
    """Index of the first line that is neither blank nor a command line."""
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped and not _is_command_line(stripped):
            return index
    return len(lines)


def _is_command_line(stripped: str) -> bool:
    return len(stripped) > 1 and stripped[0] == "#" and stripped[1].isalpha()


def _parse_line(line: str) -> Command | CommandError:
    if len(line) > MAX_LINE:
        return CommandError(_shorten(line), f"command line longer than {MAX_LINE} characters")
    # Portuguese names may arrive decomposed ("situac\u0327a\u0303o"), depending on the client.
    word, *rest = unicodedata.normalize("NFC", line[1:]).split(maxsplit=1)
    name = _NAMES.get(word.lower())
    if name is None:
        return CommandError(line, f'unknown command "#{word}"')
    if name == "cc" and rest:
        first, *after = rest[0].split(maxsplit=1)
        if first.lower() in _CC_WORDS:
            name, rest = _CC_WORDS[first.lower()], after
    check, needs = _SYNTAX[name]
    argument = check(rest[0] if rest else "")
    if argument is None:
        return CommandError(line, f'"#{word}" {needs}')
    return Command(name, argument, line)


def _shorten(line: str) -> str:
    return line if len(line) <= _SHOWN_CHARS else f"{line[:_SHOWN_CHARS]}…"


def _nothing(rest: str) -> str | None:
    return "" if not rest else None


def _status(rest: str) -> str | None:
    return _STATUS_VALUES.get(rest.lower())


def _priority(rest: str) -> str | None:
    return _PRIORITY_VALUES.get(rest.lower())


def _assign(rest: str) -> str | None:
    return "me" if rest.lower() in _ME else _address(rest)


def _address(rest: str) -> str | None:
    """One plain address, lowercased; `<a@b.c>` and Outlook's `a@b.c<mailto:a@b.c>` too."""
    head, mailto, target = rest.partition("<mailto:")
    if mailto and target.endswith(">") and target[:-1].lower() == head.rstrip().lower():
        rest = head.rstrip()
    if len(rest) > 2 and rest[0] == "<" and rest[-1] == ">":
        rest = rest[1:-1]
    address = rest.lower()
    local, at, domain = address.partition("@")
    if not at or len(address) > MAX_ADDRESS or not 0 < len(local) <= _LOCAL_PART_MAX:
        return None
    if any(c in _ADDRESS_SPECIALS or c.isspace() or not c.isprintable() for c in local):
        return None
    return address if _is_domain(domain) else None


def _is_domain(domain: str) -> bool:
    labels = domain.split(".")
    # A dotless domain is nearly always a typo ("ana@gmail") in mail an agent sends out.
    return len(labels) >= 2 and len(domain) <= _DOMAIN_MAX and all(map(_is_label, labels))


def _is_label(label: str) -> bool:
    return (
        0 < len(label) <= _LABEL_MAX
        and label[0] != "-"
        and label[-1] != "-"
        and all(c.isalnum() or c == "-" for c in label)
    )


def _follower(rest: str) -> str | None:
    """Nothing (the agent who writes) or one agent's address."""
    return "" if not rest else _address(rest)


def _away(rest: str) -> str | None:
    """Nothing (until `#back`) or `until DATE`, as the ISO date."""
    if not rest:
        return ""
    word, _, when = rest.partition(" ")
    day = parse_date(when) if word.lower() in _UNTIL else None
    return day.isoformat() if day is not None else None


def _word(rest: str) -> str | None:
    """Letters (any script: `faturação`), ASCII digits, `-` and `_`; lowercased."""
    word = rest.lower()
    if not 0 < len(word) <= MAX_WORD:
        return None
    valid = all(c.isalpha() or c in _WORD_EXTRA for c in word)
    return word if valid and any(c.isalnum() for c in word) else None


def _file(rest: str) -> str | None:
    """Nothing (every file of the ticket) or one file's number as the ticket lists it."""
    if not rest:
        return ""
    digits = rest.removeprefix("#")
    if not (0 < len(digits) <= _MAX_FILE_DIGITS and digits.isascii() and digits.isdigit()):
        return None
    number = int(digits)
    return str(number) if number > 0 else None


def _ticket(rest: str) -> str | None:
    digits = rest.removeprefix("#")
    if not (0 < len(digits) <= _MAX_TICKET_DIGITS and digits.isascii() and digits.isdigit()):
        return None
    number = int(digits)
    return str(number) if number > 0 else None


_ADDRESS_NEEDS = "needs one plain address, such as ana@example.com"
_WORD_NEEDS = f"letters, digits, - and _ (at most {MAX_WORD} characters)"

# Each checker returns the normalised argument, or None when it is invalid.
_SYNTAX: dict[str, tuple[Callable[[str], str | None], str]] = {
    "status": (_status, f"needs one of {', '.join(STATUSES)}"),
    "assign": (_assign, "needs one agent address, or me"),
    "priority": (_priority, f"needs one of {', '.join(PRIORITIES)}"),
    "note": (_nothing, "takes no argument"),
    "cc": (_address, _ADDRESS_NEEDS),
    "cc_keep": (_nothing, "takes no address: it keeps every pending participant"),
    "uncc": (_address, _ADDRESS_NEEDS),
    "tag": (_word, f"needs one word of {_WORD_NEEDS}"),
    "close": (_nothing, "takes no argument"),
    "resolve": (_nothing, "takes no argument"),
    "merge": (_ticket, "needs a ticket number, such as 123 or #123"),
    "macro": (_word, f"needs one name of {_WORD_NEEDS}"),
    "customer": (_address, _ADDRESS_NEEDS),
    "files": (_file, "takes nothing, or the number of one file of the ticket, such as 2"),
    "history": (_nothing, "takes no argument"),
    "follow": (_follower, "takes nothing, or one agent's address"),
    "unfollow": (_follower, "takes nothing, or one agent's address"),
    "away": (_away, "takes nothing, or until a date such as 2026-12-24 or 24/12/2026"),
    "back": (_nothing, "takes no argument"),
    "send": (_nothing, "takes no argument"),
    "discard": (_nothing, "takes no argument"),
}
