"""`mailtickets tickets attachment TICKET N --output FILE`: the operator's way to a file no mail
can carry, and one clear line for every way it can go wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import SECRET, mailtickets
from tests.support.files import File, pdf, with_files
from tests.support.helpdesk import Helpdesk

ENV = {"SECRET": SECRET}


@pytest.fixture
def site(helpdesk: Helpdesk, tmp_path: Path) -> Path:
    """The helpdesk's database, for the command line; ticket #1 with a kept and a refused file."""
    files = (
        File("invoice.pdf", "application/pdf", pdf()),
        File("scan.pdf", "application/pdf", pdf(padding=2 * 1024 * 1024)),  # over the 1 MiB
    )
    assert helpdesk.deliver(with_files(files=files)).ticket_id == 1
    config = tmp_path / "site.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "mailtickets.db"}"\n'
        '[tickets]\nsecret_env = "SECRET"\n[[queue]]\naddress = "support@acme.example"\n'
    )
    return config


def _run(site: Path, *args: str) -> tuple[int, str, str]:
    done = mailtickets("--config", str(site), "tickets", *args, cwd=site.parent, env=ENV)
    assert "Traceback" not in done.stderr
    return done.returncode, done.stdout, done.stderr.strip()


def test_a_file_is_saved_and_tickets_show_numbers_them(site: Path) -> None:
    code, out, _ = _run(site, "attachment", "1", "1", "--output", "saved.pdf")
    assert code == 0
    assert (site.parent / "saved.pdf").read_bytes() == pdf()
    assert out.strip() == f"#1 file 1: invoice.pdf, {len(pdf())} bytes in saved.pdf"
    code, out, _ = _run(site, "show", "1")
    assert f"[file 1: invoice.pdf, {len(pdf())} bytes]" in out
    assert "[file 2: scan.pdf, " in out and "(not kept: larger than 1048576 bytes)]" in out


def test_standard_output_takes_the_bytes_alone(site: Path) -> None:
    done = mailtickets(
        "--config",
        str(site),
        "tickets",
        "attachment",
        "1",
        "1",
        "-o",
        "-",
        cwd=site.parent,
        env=ENV,
    )
    assert done.returncode == 0
    assert done.stdout == pdf().decode("ascii")  # this PDF is ASCII: nothing else was printed


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("9", "1"), "mailtickets: no ticket #9"),
        (("1", "3"), "mailtickets: ticket #1 has no file 3 (it has 2)"),
        (
            ("1", "2"),
            "mailtickets: file 2 of ticket #1 (scan.pdf) was not kept: larger than 1048576 bytes",
        ),
    ],
)
def test_what_cannot_be_saved_is_one_line(site: Path, args: tuple[str, ...], error: str) -> None:
    code, _, stderr = _run(site, "attachment", *args, "--output", "out.bin")
    assert (code, stderr) == (1, error)
    assert not (site.parent / "out.bin").exists()


def test_an_output_that_cannot_be_written_is_named(site: Path) -> None:
    target = site.parent / "no" / "such" / "dir.pdf"
    code, _, stderr = _run(site, "attachment", "1", "1", "--output", str(target))
    assert (code, stderr) == (1, f"mailtickets: cannot write {target}: No such file or directory")
