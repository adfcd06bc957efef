"""Rules as pure functions: regular expressions, words, domains, headers, order and stop."""

from __future__ import annotations

from mailtickets.mail.parse import parse
from mailtickets.mail.rules import (
    Actions,
    Incoming,
    Rule,
    domains_pattern,
    evaluate,
    regex_pattern,
    words_pattern,
)
from tests.support.mail import compose


def _incoming(sender: str = "ana@example.com", **kwargs: object) -> Incoming:
    mail = parse(compose(**kwargs))  # type: ignore[arg-type]
    return Incoming(mail, sender, ("support@acme.example",))


def test_words_are_whole_words_in_any_case_and_may_be_phrases() -> None:
    pattern = words_pattern(["senha", "reset password"])
    assert pattern.search(["Esqueci a SENHA"]) == "SENHA"
    assert pattern.search(["please Reset  password"]) is None  # a phrase is as written
    assert pattern.search(["please reset password now"]) == "reset password"
    assert pattern.search(["senhas"]) is None
    assert pattern.search(["a+b (senha)"]) == "senha"  # punctuation is not a word


def test_domains_cover_subdomains_but_not_lookalikes() -> None:
    pattern = domains_pattern(["example.com"])
    assert pattern.search(["example.com"]) and pattern.search(["mail.Example.com"])
    assert pattern.search(["badexample.com"]) is None
    assert pattern.search(["example.com.evil.test"]) is None


def test_a_rule_needs_every_condition_and_says_which_failed() -> None:
    rule = Rule(
        "r",
        (
            ("subject", words_pattern(["invoice"])),
            ("header:X-Priority", regex_pattern("^1")),
            ("recipient", regex_pattern("^support@")),
        ),
        Actions(priority="high"),
    )
    urgent = _incoming(subject="Invoice", headers={"X-Priority": "1 (Highest)"})
    routing = evaluate([rule], urgent)
    assert routing.priority == "high" and routing.matched == ("r",)
    assert routing.traces[0].reasons == (
        "subject matches 'invoice' ('Invoice')",
        "header:X-Priority matches /^1/ ('1')",
        "recipient matches /^support@/ ('support@')",
    )
    plain = evaluate([rule], _incoming(subject="Invoice"))
    assert plain.matched == () and plain.priority is None
    assert plain.traces[0].reasons == ("header:X-Priority does not match /^1/",)


def test_later_rules_override_tags_add_up_and_stop_ends() -> None:
    anything = ("body", regex_pattern("."))
    rules = [
        Rule("a", (anything,), Actions(queue="q1@x.example", tags=("one",))),
        Rule("b", (anything,), Actions(queue="q2@x.example", tags=("two", "one"), spam=True)),
        Rule("c", (anything,), Actions(priority="low"), stop=True),
        Rule("d", (anything,), Actions(priority="urgent")),
    ]
    routing = evaluate(rules, _incoming())
    assert routing.queue == "q2@x.example"
    assert routing.tags == ("one", "two")
    assert routing.priority == "low"
    assert routing.spam_rule == "b"
    assert routing.matched == ("a", "b", "c")
    assert [t.rule.name for t in routing.traces] == ["a", "b", "c"]


def test_sender_and_domain_look_at_the_sender() -> None:
    rule = Rule(
        "vip",
        (("sender_domain", domains_pattern(["bigcorp.example"])),),
        Actions(priority="urgent"),
    )
    assert evaluate([rule], _incoming("ceo@eu.bigcorp.example")).priority == "urgent"
    assert evaluate([rule], _incoming("ceo@bigcorp.example.net")).priority is None
