"""Our own notice in an agent's reply, found by its words however the client quoted it."""

from __future__ import annotations

import textwrap

import pytest

from mailtickets.mail.htmltext import html_to_text
from mailtickets.mail.ourwords import has_words, without_our_words
from mailtickets.mail.quotes import new_text

NOTICE = """New reply on ticket #7 in Support.

From:     Ana Cliente <ana@example.com>
Subject:  Printer on fire
Status:   open
Priority: normal

------------------------------------------------------------
The printer shows error E-42 and smells of smoke.
------------------------------------------------------------

Other open tickets from this customer:
  #3 Invoice address wrong (pending)

Reply to this mail to answer the customer; lines at the top starting
with # are commands:
  #status open|pending|resolved|closed
  #priority low|normal|high|urgent

[ref:7.0123456789ab]
"""
NAMES = ["support@acme.example", "Support"]
ADDRESS = "support+7.2.1790000000.0123456789abcdef@acme.example"


def _quoted(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.split("\n"))


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (  # Outlook, in a language the general quote stripping does not know
            "Unplug it.\n\n-----Oorspronkelijk bericht-----\n"
            f"Van: Support <{ADDRESS}>\nVerzonden: maandag 2 november 2026 10:00\n"
            f"Aan: Alice\nOnderwerp: [ACME #7] New reply\n\n{NOTICE}",
            "Unplug it.",
        ),
        (  # Thunderbird: the attribution names us by our display name only
            f"Unplug it.\n\nOn 02/11/2026 10:00, Support wrote:\n{_quoted(NOTICE)}\n",
            "Unplug it.",
        ),
        (  # Gmail: re-wrapped, quoted, the attribution wrapped where our address begins
            "Unplug it.\n\nOn Mon, Nov 2, 2026 at 10:00 AM Support <\n"
            f"{ADDRESS}> wrote:\n\n"
            + _quoted("\n".join(textwrap.wrap(" ".join(NOTICE.split()), 55))),
            "Unplug it.",
        ),
        (  # bottom-posting: the answer follows the quote
            f"On 02/11/2026 10:00, Support wrote:\n{_quoted(NOTICE)}\n\nUnplug it.\n",
            "Unplug it.",
        ),
        (  # no introduction at all
            f"Unplug it.\n\n{NOTICE}",
            "Unplug it.",
        ),
    ],
)
def test_the_quoted_notice_and_its_introduction_are_cut(reply: str, expected: str) -> None:
    cut = without_our_words(reply, [NOTICE], NAMES)
    assert cut is not None
    assert new_text(cut) == expected


def test_html_turned_into_text_is_recognised() -> None:
    html = "".join(f"<p>{line}</p>" for line in NOTICE.split("\n") if line)
    reply = html_to_text(
        f"<div>Unplug it.</div><hr><p><b>From:</b> Support &lt;{ADDRESS}&gt;<br>"
        f"<b>Sent:</b> Monday<br><b>Subject:</b> x</p>{html}"
    )
    cut = without_our_words(reply, [NOTICE], NAMES)
    assert cut is not None and new_text(cut) == "Unplug it."


def test_a_reply_quoting_none_of_our_mail_is_left_alone() -> None:
    reply = "Unplug it.\n\nOn Mon, Ana wrote:\n> The printer is on fire.\n"
    assert without_our_words(reply, [NOTICE], NAMES) is None


def test_words_the_agent_repeats_from_our_mail_are_theirs() -> None:
    own = "You said: the printer shows error E-42 and smells of smoke. Unplug it."
    cut = without_our_words(
        f"{own}\n\nOn 02/11/2026, Support wrote:\n{_quoted(NOTICE)}", [NOTICE], NAMES
    )
    assert cut is not None and new_text(cut) == own
    # Alone, without the quote, the same sentence is not our mail at all.
    assert without_our_words(own, [NOTICE], NAMES) is None


def test_an_agents_line_naming_us_above_the_introduction_stays() -> None:
    reply = (
        "Ask Support <support@acme.example> for a loan printer.\n\nAlice\n\n"
        f"On 02/11/2026 10:00, Support wrote:\n{_quoted(NOTICE)}"
    )
    cut = without_our_words(reply, [NOTICE], NAMES)
    assert cut is not None
    assert new_text(cut) == "Ask Support <support@acme.example> for a loan printer.\n\nAlice"


def test_nothing_but_the_quote_leaves_no_words() -> None:
    cut = without_our_words(
        f"On 02/11/2026 10:00, Support wrote:\n{_quoted(NOTICE)}", [NOTICE], NAMES
    )
    assert cut is not None and not has_words(cut)
    assert not has_words("\n-- \nAlice\nACME Support")
    assert has_words("#resolve\n")
