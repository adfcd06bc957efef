"""The ceiling: how fast the standard library alone parses the corpus.

`email.message_from_bytes` with `policy.default`, every part walked and every text part
decoded: what any Python program reading this mail pays at least once per message.
"""

from __future__ import annotations

from email import message_from_bytes, policy

from bench.corpus import generate
from bench.figures import Figure, Scale, repeat, timed


def parse_all(raws: list[bytes]) -> None:
    for raw in raws:
        message = message_from_bytes(raw, policy=policy.default)
        for part in message.walk():
            if part.get_content_maintype() == "text":
                part.get_content()


def measure(scale: Scale) -> list[Figure]:
    raws = [item.raw for item in generate(scale.corpus)]
    runs = repeat(scale.runs, lambda: len(raws) / timed(lambda: parse_all(raws)))
    return [
        Figure(
            "ceiling",
            "Ceiling: stdlib parse only (policy.default, text decoded)",
            "msg/s",
            runs,
        )
    ]
