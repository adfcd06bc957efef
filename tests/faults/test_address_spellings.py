"""One mailbox written many ways, against the real daemon: one contact, one acknowledgement
limit. An encoded word inside the angle brackets never becomes an address: not the customer,
not a recipient of our mail."""

from __future__ import annotations

import json
import smtplib
from pathlib import Path

from tests.faults.figures import Figures
from tests.faults.site import QUEUE, Site, wire

LIMIT = 2
#: From headers of one mailbox, ana@example.com.
SPELLINGS = [
    "Ana <ANA@Example.COM>",
    "ana@example.com.",
    '"ana"@example.com',
    "Ana <ana(home)@example.com>",
    '"Ana" <"ana"@example.com.>',
    # No address in the brackets as written: the envelope sender (ana@example.com) is the one.
    "V <=?utf-8?q?victim=40evil.example?=>",
]
#: The address after the encoded word is the sender's, not what the word decodes to.
SMUGGLED = "Ana <=?utf-8?q?evil=40evil.example?=> <h@example.com>"


def _mail(sender: str, n: int) -> bytes:
    return wire(
        f"From: {sender}\nTo: {QUEUE}\nSubject: spelling {n}\n"
        f"Message-ID: <spelling-{n}@example.com>\nDate: Mon, 02 Nov 2026 09:00:00 +0000\n\n"
        "Hello.\n".encode()
    )


def test_one_mailbox_is_one_contact_however_it_is_written(tmp_path: Path, figures: Figures) -> None:
    site = Site(tmp_path, tickets=f"max_acknowledgements_per_hour = {LIMIT}\n")
    with site.daemon(log_level="error") as daemon:
        with smtplib.SMTP("127.0.0.1", site.smtp_port, timeout=60) as client:
            codes = [
                client.sendmail("ana@example.com", [QUEUE], _mail(sender, n))
                for n, sender in enumerate(SPELLINGS, 1)
            ]
            codes.append(client.sendmail("h@example.com", [QUEUE], _mail(SMUGGLED, 99)))
        site.settle()
        assert daemon.stop() == 0, daemon.output
    ana = site.cli("contacts", "show", "ana@example.com", "--json")
    smuggled = site.cli("tickets", "show", str(len(SPELLINGS) + 1), "--json")
    evil = site.cli("contacts", "show", "evil@evil.example", "--json")
    acknowledged = sorted(r for a in site.acknowledgements() for r in a.recipients)
    site.close()

    figures.tried = f"{len(SPELLINGS)} spellings of one mailbox, one encoded word in brackets"
    figures.messages = len(SPELLINGS) + 1
    figures.survived = f"acknowledged {acknowledged}"
    assert codes == [{}] * (len(SPELLINGS) + 1)
    assert ana.returncode == 0, ana.stderr
    contact = json.loads(ana.stdout)
    assert contact["address"] == "ana@example.com"
    assert len(contact["tickets"]) == len(SPELLINGS)
    # The limit counted one mailbox: LIMIT acknowledgements, not one per spelling.
    assert acknowledged == ["ana@example.com"] * LIMIT + ["h@example.com"]
    assert json.loads(smuggled.stdout)["customer"] == "h@example.com"
    assert evil.returncode != 0
