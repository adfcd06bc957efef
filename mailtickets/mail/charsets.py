"""Read text in the charset its bytes are in, as browsers do.

Labels are read as the WHATWG Encoding Standard says: iso-8859-1 and us-ascii are
windows-1252, so "smart quotes" and dashes survive; gb2312 is gb18030, shift_jis is
windows-31J, and so on. Bytes that a label does not describe (unlabelled 8-bit, us-ascii
with 8-bit bytes, "utf-8" that is not, an unknown charset) are UTF-8 when they are; else,
when charset-normalizer finds them to be text in a script other than Latin, that; else
windows-1252. Nothing is replaced with U+FFFD.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

from charset_normalizer import from_bytes

#: The characters windows-1252 gives bytes 0x80-0x9F, for text read as latin-1. The five
#: bytes it leaves unassigned stay the C1 controls, as in WHATWG's windows-1252.
_C1_AS_1252 = {
    byte: bytes([byte]).decode("cp1252")
    for byte in range(0x80, 0xA0)
    if byte not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
}
_WINDOWS_1252 = "windows-1252"
#: Labels WHATWG reads as another encoding, and the Python codec for that encoding.
_WHATWG = {
    **dict.fromkeys(
        [
            *("us-ascii", "ascii", "ansi_x3.4-1968", "iso-8859-1", "iso8859-1", "iso88591"),
            *("iso_8859-1", "iso_8859-1:1987", "iso-ir-100", "latin1", "l1", "cp819"),
            *("ibm819", "csisolatin1", "cp1252", "windows-1252", "x-cp1252"),
        ],
        _WINDOWS_1252,
    ),
    **dict.fromkeys(
        ["iso-8859-9", "iso8859-9", "iso88599", "iso_8859-9", "latin5", "l5", "windows-1254"],
        "cp1254",
    ),
    **dict.fromkeys(["iso-8859-11", "iso8859-11", "tis-620", "windows-874"], "cp874"),
    **dict.fromkeys(["gb2312", "gbk", "chinese", "csgb2312", "x-gbk", "gb_2312-80"], "gb18030"),
    **dict.fromkeys(["ks_c_5601-1987", "euc-kr", "korean", "windows-949"], "cp949"),
    **dict.fromkeys(["big5", "big5-hkscs", "cn-big5", "x-x-big5"], "big5hkscs"),
    **dict.fromkeys(["shift_jis", "shift-jis", "sjis", "ms_kanji", "windows-31j"], "cp932"),
}
#: Labels that say nothing about 8-bit bytes: what such bytes are is read from them.
_SAYS_NOTHING = frozenset({"", "us-ascii", "ascii", "ansi_x3.4-1968"})
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
#: The legacy charsets of other scripts that mail is really written in. charset-normalizer
#: names rarer ones (cp864, mac_arabic) for short Latin text, which is windows-1252.
_OTHER_SCRIPTS = frozenset(
    [
        *("koi8_r", "koi8_u", "cp1251", "iso8859_5", "cp866", "mac_cyrillic", "cp1253"),
        *("iso8859_7", "cp1255", "iso8859_8", "cp1256", "iso8859_6", "cp874", "tis_620"),
        *("cp932", "shift_jis", "euc_jp", "iso2022_jp", "gb18030", "gb2312", "gbk", "big5"),
        *("big5hkscs", "cp950", "cp949", "euc_kr", "iso2022_kr"),
    ]
)
#: charset-normalizer reads this much; it samples within it.
_DETECT_BYTES = 64 * 1024
_STRAY_BYTES = "mailtickets-stray-windows-1252"


def decode(payload: bytes, label: str | None) -> str:
    """`payload`, declared to be in charset `label` (None when unlabelled), as text."""
    if payload.isascii():
        return payload.decode("ascii")
    label = (label or "").strip().lower()
    encoding = _WHATWG.get(label, label)
    if encoding == _WINDOWS_1252 and label not in _SAYS_NOTHING:
        return windows_1252(payload)
    if encoding not in (_WINDOWS_1252, "utf-8", "utf8", ""):
        try:
            return payload.decode(encoding)
        except (LookupError, UnicodeError, ValueError):
            pass  # an unknown or a wrong label: the bytes say what they are
    return _undeclared(payload)


def windows_1252(payload: bytes) -> str:
    """`payload` as WHATWG's windows-1252; never fails."""
    return c1_as_windows_1252(payload.decode("latin-1"))


def c1_as_windows_1252(text: str) -> str:
    """`text` read as latin-1 (by the stdlib's header decoder, say) as windows-1252 reads it:
    its C1 controls, never meant by anyone, become the quotes and dashes they were."""
    return text.translate(_C1_AS_1252)


def _undeclared(payload: bytes) -> str:
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        pass
    in_sequences = sum(len(m) for m in _UTF8_SEQUENCE.findall(payload))
    if in_sequences * 5 >= sum(byte >= 0x80 for byte in payload) * 4:
        # UTF-8 with a few stray bytes (a legacy signature pasted in): only those are 1252.
        return payload.decode("utf-8", _STRAY_BYTES)
    return _detected(payload) or windows_1252(payload)


def _detected(payload: bytes) -> str | None:
    """The text in the charset charset-normalizer finds, when that text is in a script other
    than Latin: between the Latin code pages it guesses wrong on short text."""
    best = from_bytes(payload[:_DETECT_BYTES]).best()
    if best is None or best.encoding not in _OTHER_SCRIPTS:
        return None
    try:
        text = payload.decode(best.encoding)
    except (LookupError, UnicodeError):
        return None
    letters = [c for c in text[:_DETECT_BYTES] if c.isalpha() and not c.isascii()]
    other = sum(not unicodedata.name(c, "LATIN").startswith("LATIN") for c in letters)
    return text if other * 2 > len(letters) else None


def _stray_as_1252(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return windows_1252(error.object[error.start : error.end]), error.end


codecs.register_error(_STRAY_BYTES, _stray_as_1252)
