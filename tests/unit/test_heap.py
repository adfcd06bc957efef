"""The daemon's malloc settings take on glibc (this machine's C library) and are skipped,
without error, elsewhere."""

from __future__ import annotations

import platform

from mailtickets.heap import tune_malloc


def test_malloc_is_tuned_on_glibc() -> None:
    assert tune_malloc() is (platform.libc_ver()[0] == "glibc")
