"""`rules test` explains the rules for one message without a database; `check-config` names
every mistake in a rule with its key path and file."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import mailtickets
from tests.support.mail import compose

CONFIG = """
[database]
url = "sqlite:///{db}"
[[queue]]
address = "support@acme.example"
[[queue]]
address = "vendas@acme.example"
name = "Vendas"
[[agent]]
address = "bruno@acme.example"
name = "Bruno"
[spam]
block = ["bulk.example"]

[[rule]]
name = "sales"
stop = true
[rule.match]
subject = ["quote", "orçamento"]
recipient = "@acme[.]example$"
[rule.set]
queue = "Vendas"
priority = "high"
tags = ["sales"]
assignee = "bruno@acme.example"

[[rule]]
name = "password"
[rule.match]
body = "pass(word)?"
[rule.set]
macro = "password_reset"
"""


def _run(tmp_path: Path, raw: bytes, *options: str) -> tuple[int, str]:
    config = tmp_path / "site.toml"
    config.write_text(CONFIG.format(db=tmp_path / "mailtickets.db"))
    message = tmp_path / "message.eml"
    message.write_bytes(raw)
    result = mailtickets(
        "--config", str(config), "rules", "test", str(message), *options, cwd=tmp_path
    )
    assert "Traceback" not in result.stderr
    return result.returncode, result.stdout


def test_rules_test_says_which_rules_match_and_what_they_would_do(tmp_path: Path) -> None:
    code, out = _run(tmp_path, compose(subject="A quote, please", body="My password is fine."))
    assert code == 0
    assert "rule 'sales': matches" in out
    assert "subject matches 'quote' or 'orçamento' ('quote')" in out
    assert (
        "would: queue vendas@acme.example, priority high, assignee bruno@acme.example, tag sales"
    ) in out
    assert "stop: later rules are not looked at" in out
    assert "1 later rule(s) not looked at" in out
    assert (
        "a new ticket would get: queue vendas@acme.example, priority high, "
        "assignee bruno@acme.example, tag sales"
    ) in out
    checked = mailtickets("--config", str(tmp_path / "site.toml"), "check-config", cwd=tmp_path)
    assert checked.returncode == 0 and "1 agent(s), 2 rule(s))" in checked.stdout
    # Nothing was stored: no database was even created.
    assert not (tmp_path / "mailtickets.db").exists()


def test_rules_test_names_the_condition_that_failed(tmp_path: Path) -> None:
    code, out = _run(tmp_path, compose(subject="Printer", body="I forgot my password"))
    assert code == 0
    assert "rule 'sales': no match\n    subject does not match 'quote' or 'orçamento'" in out
    assert "rule 'password': matches" in out
    assert "a new ticket would get: automatic answer password_reset" in out


def test_rules_test_tells_spam(tmp_path: Path) -> None:
    code, out = _run(tmp_path, compose(subject="Quote"), "--sender", "x@mail.bulk.example")
    assert code == 0
    assert "spam: bulk.example is on the block list; the message would be quarantined" in out


def test_check_config_names_every_mistake_in_rules(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text(
        '[[queue]]\naddress = "s@a.example"\n'
        '[[rule]]\nname = "r"\nstopp = true\n'
        '[rule.match]\nsubject = "(unclosed"\nheaders = { "X-Bad" = 3 }\n'
        '[rule.set]\nqueue = "sales"\npriority = "asap"\nassignee = "x@a.example"\n'
        'macro = "nothing_like_it"\ntags = ["two words"]\n'
        '[[rule]]\nname = "empty"\n'
    )
    result = mailtickets("--config", str(config), "check-config", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"mailtickets: {line} ({config})"
        for line in [
            "[rule.r.match] subject: is not a regular expression: missing ), unterminated "
            'subpattern at position 0, got "(unclosed"',
            "[rule.r.match] headers: header X-Bad: must be a regular expression "
            '("…") or a list of words (["…", "…"]), got a table',
            '[rule.r.set] queue: no [[queue]] "sales"',
            '[rule.r.set] priority: must be one of "low", "normal", "high", "urgent", got "asap"',
            "[rule.r.set] tags: must be words of letters, digits, - and _ (at most 50), got a list",
            "[rule.r.set] assignee: x@a.example is not an [[agent]]",
            "[rule.r.set] macro: no template <locale>/macros/nothing_like_it.txt.j2",
            "[rule.r] stopp: unknown key",
            # Both its conditions are wrong, so as written it has none that could hold.
            "[rule.r] match: needs at least one condition",
            "[rule.empty] match: needs at least one condition",
            "[rule.empty] set: needs at least one action",
        ]
    ]
