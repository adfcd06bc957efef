"""The daemon gives large buffers back to the system when it frees them.

glibc's malloc serves a request over its mmap threshold (128 KiB) with a mapping of its own,
returned to the system on free; but freeing such a mapping raises the threshold to its size
(up to 32 MiB), after which buffers that large come from the heap and stay with the process.
A 25 MB attachment's DATA buffer, parse and notice then left the daemon ~20 MiB larger at
rest, and each later large message piled onto that (171 MiB against 139 MiB for the first).
Fixing the threshold at its default keeps it from rising. glibc also gives each thread that
allocates an arena of its own, up to eight per core, each keeping what was freed in it; the
daemon's threads (SMTP sessions, the worker, the sender's connections) share two, which cost
nothing measurable in speed (Python's own allocator serves the small objects). Elsewhere than
glibc, nothing is done.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

#: mallopt's parameter numbers (malloc.h).
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
MMAP_THRESHOLD = 128 * 1024
ARENAS = 2


def tune_malloc() -> bool:
    """Fix glibc's mmap threshold and bound its arenas; whether it could (False on other C
    libraries)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    done = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_ARENA_MAX, ARENAS))
    log.debug("malloc: mmap threshold %d bytes, %d arenas: %s", MMAP_THRESHOLD, ARENAS, done)
    return done
