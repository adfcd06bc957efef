"""Files on the way out: a safe name and type for each, whether it can be shown in place, and
what it costs in a mail.

Names and types were cleaned when the mail came in (`parse.safe_filename`), but a file goes
out to other people's mail clients, so they are cleaned again here against what a header or a
client could be fooled by: path parts, control and direction-changing characters, types a
client would render or run.
"""

from __future__ import annotations

import math
import re
import unicodedata

from mailtickets.mail.parse import safe_filename

#: The type of a file whose declared type is unusable or one a mail client would render.
DEFAULT_TYPE = "application/octet-stream"
MAX_NAME = 150
#: base64 lines are 76 characters and CRLF.
_LINE = 76

_NAME_PART = r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}"
_MEDIA_TYPE = re.compile(rf"^{_NAME_PART}/{_NAME_PART}$")
# Types a client shows as a page or runs rather than offering as a file: sent as plain bytes.
_RENDERED = frozenset(
    {
        "text/html",
        "application/xhtml+xml",
        "image/svg+xml",
        "text/javascript",
        "application/javascript",
        "application/x-javascript",
        "application/ecmascript",
        "text/xml",
        "application/xml",
    }
)
# Unicode categories never useful in a file name: controls, format characters (the
# right-to-left override that turns "invoice‮fdp.exe" into "invoiceexe.pdf"), separators.
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# What a file must start with to be shown as the image it claims to be.
_MAGIC = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
}


def outgoing_name(name: str, content_type: str, position: int) -> str:
    """A file name for a Content-Disposition header: one plain name, nothing hidden in it."""
    visible = "".join(
        c if unicodedata.category(c) not in _INVISIBLE else "_"
        for c in unicodedata.normalize("NFC", name)
    )
    cleaned = safe_filename(" ".join(visible.split()), content_type, position)
    if len(cleaned) <= MAX_NAME:
        return cleaned
    stem, dot, extension = cleaned.rpartition(".")
    if not dot or len(extension) > 16:
        return cleaned[:MAX_NAME]
    return f"{stem[: MAX_NAME - len(extension) - 1]}.{extension}"


def outgoing_type(content_type: str) -> str:
    """`type/subtype` as declared when it is well formed and not a type clients render."""
    declared = content_type.strip().lower()
    if not _MEDIA_TYPE.match(declared) or declared in _RENDERED:
        return DEFAULT_TYPE
    # A message/* part must hold a parsed message; a file claiming to be one is just bytes.
    if declared.startswith(("message/", "multipart/")):
        return DEFAULT_TYPE
    return declared


def shows_in_place(content_type: str, head: bytes) -> bool:
    """Whether a file is an image a mail client can show inside the text: one of the
    common raster types, and its first bytes (`head`, at least 12) say so too: a "PNG"
    that is a PDF is attached, not shown."""
    if content_type == "image/webp":
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    return any(head.startswith(magic) for magic in _MAGIC.get(content_type, ()))


def encoded_size(size: int) -> int:
    """The bytes a file of `size` bytes takes in a mail, base64 with CRLF every 76 characters."""
    encoded = 4 * math.ceil(size / 3)
    return encoded + 2 * math.ceil(encoded / _LINE)
