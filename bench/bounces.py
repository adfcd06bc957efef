"""Bounces and auto-replies: the real bounces flufl.bounce ships, and every auto-reply signal.

The 117 samples of flufl.bounce's source distribution (AOL, Exim, Postfix, qmail, Exchange,
Lotus, Yahoo, antivirus gateways, …) are fetched at benchmark time with pip, never kept here,
and imported with the real `mailtickets import` into a fresh instance. Targets: none opens a
ticket, none is quarantined, and the failed address is found wherever flufl.bounce's own
scan finds it. Two samples are no bounce, by flufl.bounce's own tests (a person's reply that
confused its GroupWise detector, and a qmail vacation notice): they are counted apart.

Auto-reply signals: one ordinary message per signal in `tests/data/autoreplies/signals.json`
(each header, each subject form, a null return path, list headers), which must each be
recognised, beside the people's mail of the test corpus, which must not be.
"""

from __future__ import annotations

import email
import json
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from importlib import metadata
from pathlib import Path

from flufl.bounce import all_failures
from sqlalchemy import create_engine, text

from bench.figures import Figure, Scale, Target
from bench.site import SECRET
from mailtickets.mail.dsn import read_bounce
from mailtickets.mail.loops import Automated, classify
from mailtickets.mail.parse import parse
from tests.support.cli import mailtickets

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
#: Samples flufl.bounce's tests keep as examples of mail that is no bounce.
NOT_BOUNCES = {
    "groupwise_03.txt": "a person's reply (opens a ticket, as it should)",
    "qmail_08.txt": "a vacation auto-reply",
}
OWN = ({"support@acme.example"}, {"acme.example"})
_CONFIG = """
[database]
url = "sqlite:///{directory}/mailtickets.db"
[storage]
dir = "{directory}/var"
[tickets]
secret_env = "BENCH_SECRET"
[[queue]]
address = "support@acme.example"
"""


def measure(scale: Scale) -> list[Figure]:
    with tempfile.TemporaryDirectory(dir=scale.work) as work:
        samples = _samples(Path(work))
        outcomes = _imported(Path(work), samples)
        return [*_bounce_figures(samples, outcomes), *_signal_figures()]


def _samples(work: Path) -> list[Path]:
    """flufl.bounce's sample bounces, from the source distribution of the installed version."""
    version = metadata.version("flufl.bounce")
    pip = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:"]
    done = subprocess.run(
        [*pip, "--dest", str(work), f"flufl.bounce=={version}"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"pip download flufl.bounce=={version}: {done.stderr.strip()}")
    (sdist,) = work.glob("flufl*bounce-*.tar.gz")
    with tarfile.open(sdist) as archive:
        members = [m for m in archive.getmembers() if "/tests/data/" in m.name]
        archive.extractall(work / "sdist", members=members, filter="data")
    samples = sorted((work / "sdist").rglob("tests/data/*.txt"))
    if len(samples) < 100:
        raise RuntimeError(f"{sdist.name} holds {len(samples)} samples, not the 117 expected")
    return samples


def _imported(work: Path, samples: list[Path]) -> dict[str, str]:
    """Each sample's outcome in a fresh instance after `mailtickets import`."""
    config = work / "mailtickets.toml"
    config.write_text(_CONFIG.format(directory=work))
    env = SECRET
    done = mailtickets("--config", str(config), "db", "upgrade", cwd=work, env=env)
    if done.returncode:
        raise RuntimeError(f"db upgrade: {done.stderr.strip()}")
    args = ["--config", str(config), "import", "--queue", "support@acme.example"]
    done = mailtickets(*args, *map(str, samples), cwd=work, env=env, timeout=600)
    if done.returncode:
        raise RuntimeError(f"import: {done.stderr.strip()}")
    engine = create_engine(f"sqlite:///{work}/mailtickets.db")
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT status, outcome FROM inbound_message ORDER BY id")
        ).all()
    engine.dispose()
    if len(rows) != len(samples):  # the samples are imported in order, one row each
        raise RuntimeError(f"{len(samples)} samples imported as {len(rows)} intake rows")
    return {
        path.name: "quarantined" if status == "quarantined" else str(outcome)
        for path, (status, outcome) in zip(samples, rows, strict=True)
    }


def _bounce_figures(samples: list[Path], outcomes: dict[str, str]) -> list[Figure]:
    bounces = [p for p in samples if p.name not in NOT_BOUNCES]
    tickets = sorted(p.name for p in bounces if outcomes[p.name] in ("new_ticket", "follow_up"))
    quarantined = sorted(p.name for p in samples if outcomes[p.name] == "quarantined")
    found, flufl_found, missed = 0, 0, []
    by_family: Counter[str] = Counter()
    recognised: Counter[str] = Counter()
    for path in bounces:
        raw = path.read_bytes()
        family = path.stem.rsplit("_", 1)[0]
        by_family[family] += 1
        recognised[family] += outcomes[path.name] == "bounce"
        temporary, permanent = all_failures(email.message_from_bytes(raw))
        theirs = {a.decode("utf-8", "replace").lower() for a in temporary | permanent}
        if not theirs:
            continue
        flufl_found += 1
        bounce = read_bounce(parse(raw))
        ours = {f.recipient for f in bounce.failures} if bounce else set()
        if theirs <= ours:
            found += 1
        else:
            missed.append(path.name)
    not_bounces = ", ".join(f"{n}: {outcomes[n]}, {why}" for n, why in NOT_BOUNCES.items())
    figures = [
        _count(
            "bounces_tickets",
            f"flufl.bounce's {len(bounces)} real bounces: tickets opened",
            len(tickets),
            Target(0, higher_is_better=False),
            ", ".join(tickets) or f"the {len(NOT_BOUNCES)} that are no bounce: {not_bounces}",
        ),
        _count(
            "bounces_quarantined",
            f"flufl.bounce's {len(samples)} samples: quarantined",
            len(quarantined),
            Target(0, higher_is_better=False),
            ", ".join(quarantined),
        ),
        _count(
            "bounces_addresses",
            f"Failed addresses found where flufl.bounce finds them (of {flufl_found})",
            found,
            Target(flufl_found, higher_is_better=True),
            f"missed: {', '.join(missed)}" if missed else "",
        ),
    ]
    for family, total in sorted(by_family.items()):
        figures.append(
            _count(
                f"bounces_{family}",
                f"Recognised as bounces: {family} samples (of {total})",
                recognised[family],
                Target(total, higher_is_better=True),
            )
        )
    return [*figures, _own_formats()]


def _own_formats() -> Figure:
    """Our own fixture of each bounce format (tests/data/bounces and the corpus's bounces)."""
    paths = sorted((DATA / "bounces").glob("*.eml")) + sorted(
        p for p in (DATA / "corpus").glob("*.eml") if "bounce" in p.name or "delayed" in p.name
    )
    formats: Counter[str] = Counter()
    read = 0
    for path in paths:
        bounce = read_bounce(parse(path.read_bytes()))
        if bounce is not None and bounce.failures:
            read += 1
            formats[bounce.format] += 1
    note = "; ".join(f"{kind}: {n}" for kind, n in sorted(formats.items()))
    return _count(
        "bounces_formats",
        f"Our bounce fixtures read with their failed address (of {len(paths)})",
        read,
        Target(len(paths), higher_is_better=True),
        note,
    )


def _signal_figures() -> list[Figure]:
    signals = json.loads((DATA / "autoreplies" / "signals.json").read_text("utf-8"))
    cases = [(f"{name}: {value}", "Invoice") for name, value in signals["headers"].items()]
    cases += [("", subject) for subject in signals["subjects"]]
    cases += [("Return-Path: <>", "Invoice"), ("List-Id: <news.example.org>", "News")]
    cases += [("List-Unsubscribe: <mailto:leave@example.org>", "News")]
    decided: Counter[str] = Counter()
    missed = []
    for header, subject in cases:
        lines = ["From: pat@example.org", header, f"Subject: {subject}"]
        raw = "\n".join(line for line in lines if line) + "\n\nHello.\n"
        verdict = classify(parse(raw.encode()), None, *OWN)
        if verdict is None or verdict.kind not in (Automated.AUTO_REPLY, Automated.BULK):
            missed.append(header or subject)
        else:
            decided[verdict.signal] += 1
    manifest = json.loads((DATA / "corpus" / "manifest.json").read_text("utf-8"))
    people = [n for n, entry in manifest.items() if entry["kind"] in ("new", "reply", "forward")]
    taken = [n for n in people if classify(parse((DATA / "corpus" / n).read_bytes()), None, *OWN)]
    return [
        _count(
            "autoreply_signals",
            f"Auto-reply and bulk signals recognised, each alone (of {len(cases)})",
            len(cases) - len(missed),
            Target(len(cases), higher_is_better=True),
            f"missed: {', '.join(missed)}" if missed else ", ".join(sorted(decided)),
        ),
        _count(
            "autoreply_people",
            f"People's mail of the test corpus taken for automated (of {len(people)})",
            len(taken),
            Target(0, higher_is_better=False),
            ", ".join(taken),
        ),
    ]


def _count(key: str, label: str, value: int, target: Target, note: str = "") -> Figure:
    return Figure(key, label, "messages", (float(value),), target, note=note)
