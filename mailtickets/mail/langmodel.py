"""py3langid's model mapped from a file rather than copied into memory.

Loaded the library's way, the model takes 74 MiB of the daemon's memory for good and about
100 MiB while it loads (the xz file decompressed, then each array copied once more), on the
first message the worker reads. Its two large tables (27 MiB of per-feature probabilities,
37 MiB of the byte automaton) are read only where a text leads: here they are memory-mapped
from the model decompressed once into a cache file, so only the pages texts touch are
resident, and those are the kernel's to drop and to share between instances. The small
parts are read as the library reads them. Any failure to write or map the cache falls back
to the library's own loading: slower to start and heavier, never wrong.
"""

from __future__ import annotations

import lzma
import os
import shutil
import struct
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

_SOURCE = MODEL_DIR / MODEL_FILE
_ZIP_LOCAL_HEADER = struct.Struct("<4s22xHH")
_UNSIGNED = {2: "H", 4: "I", 8: "L"}  # as py3langid's own loader reads them


def identifier(cache: Path) -> Any:
    """The language identifier with its large tables mapped from a file under `cache`."""
    unpacked = _unpacked(cache)
    with np.load(unpacked, allow_pickle=False) as data:
        classes = data["classes"].tolist()
        rows = data["nextmove_row"]
        out = data["out_feat"].tolist()
        pc = np.asarray(data["pc"])
    nextmove = _mapped(unpacked, "nextmove")
    # Indexed one entry at a time by the library: a memoryview gives ints, numpy would not.
    code = _UNSIGNED[nextmove.dtype.itemsize]
    table = memoryview(nextmove.data).cast("B").cast(code)  # type: ignore[call-overload]
    return LanguageIdentifier(
        _mapped(unpacked, "ptc"),
        pc,
        classes,
        table,
        out,
        norm_probs=True,
        tk_row=rows.tolist(),
    )


def _unpacked(cache: Path) -> Path:
    """The model decompressed into `cache` (an uncompressed npz), made once per model."""
    status = _SOURCE.stat()
    target = cache / f"langid-{status.st_size}-{int(status.st_mtime)}.npz"
    if target.exists():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=cache, delete=False) as partial:
        try:
            with lzma.open(_SOURCE) as source:
                shutil.copyfileobj(source, partial, length=1 << 20)
            partial.flush()
            os.fsync(partial.fileno())
        except BaseException:
            Path(partial.name).unlink()
            raise
    Path(partial.name).replace(target)
    return target


def _mapped(npz: Path, name: str) -> np.ndarray[Any, Any]:
    """Array `name` of an uncompressed npz, memory-mapped where it lies in the file."""
    with zipfile.ZipFile(npz) as archive:
        member = archive.getinfo(f"{name}.npy")
    if member.compress_type != zipfile.ZIP_STORED:
        raise ValueError(f"{npz}: {name} is compressed and cannot be mapped")
    with npz.open("rb") as file:
        file.seek(member.header_offset)
        magic, name_length, extra_length = _ZIP_LOCAL_HEADER.unpack(
            file.read(_ZIP_LOCAL_HEADER.size)
        )
        if magic != b"PK\x03\x04":
            raise ValueError(f"{npz}: no local header for {name}")
        file.seek(name_length + extra_length, os.SEEK_CUR)
        version = np.lib.format.read_magic(file)
        read_header = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        shape, fortran, dtype = read_header(file)
        offset = file.tell()
    return np.memmap(
        npz, dtype=dtype, mode="r", offset=offset, shape=shape, order="F" if fortran else "C"
    )
