"""The agent's own formatting for the customer: the new part of an HTML reply, made safe.

An agent answers from their own mail client, whose HTML holds what they wrote, their
signature and the history it quotes. `reply_html` keeps what they wrote:

1. Quoted history goes, from where it starts to the end: the marks mail clients put there
   (Gmail's `gmail_quote`, Thunderbird's `moz-cite-prefix`, `blockquote type="cite"` of
   Thunderbird and Apple Mail, Outlook's `divRplyFwdMsg`/`appendonsend` and the top-bordered
   "From:" block of its desktop version, Yahoo's `yahoo_quoted`), or else the first paragraph
   that is only an attribution ("On … wrote:") or an "-----Original Message-----" line.
2. So does a signature, from a mark (`gmail_signature`, `moz-signature`, Outlook's
   `Signature` and `_MailAutoSig`) or a "-- " line on: the answer is signed with the agent's
   configured signature. A signature no mark tells from the text stays, as in the text rules.
3. The command lines at the top (`#resolve`, …) go, as they do from the text, with blank
   lines around the rest.
4. Images: only those the agent attached (`cid:`), renamed to the Content-IDs the outgoing
   mail gives them. A remote image (as often as not a tracking pixel), a data: image, or a
   `cid:` that names no attached file is dropped, its alt text kept.
5. The rest is sanitised by nh3 (the Ammonia allow-list sanitiser): formatting tags only,
   links only to http(s) and mailto (rel="noopener noreferrer"), style properties that cannot
   load anything; scripts, event handlers, forms, frames, objects and comments never pass.

Input over MAX_HTML_CHARS once embedded data: images are gone is not read (None): the caller
sends the agent's text instead. Nothing here raises on malformed HTML.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import nh3
from lxml.etree import ParserError  # type: ignore[import-untyped]
from lxml.html import document_fromstring, tostring  # type: ignore[import-untyped]

MAX_HTML_CHARS = 512 * 1024
#: A paragraph longer than this is prose, never an attribution or a separator.
_MAX_MARK_CHARS = 400

_DATA_URI = re.compile(r"data:[^\"'\s>)]{64,}", re.IGNORECASE)
_UNSAFE_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_COMMAND = re.compile(r"^#[^\W\d_]", re.UNICODE)
_ATTRIBUTION = re.compile(
    r"^(?:on|em|am|el|le|il|op|den|på)\s(?=.*\d).*\s"
    r"(?:wrote|escreveu|schrieb|escribió|a écrit|ha scritto|schreef|skrev)\s?:$",
    re.IGNORECASE,
)
_ORIGINAL_MESSAGE = re.compile(
    r"^-{2,}\s*(?:original message|mensagem original|mensaje original|message d'origine"
    r"|ursprüngliche nachricht)\s*-{2,}$",
    re.IGNORECASE,
)
_QUOTED_HEADERS = re.compile(r"^(?:from|de|von|da)\s*:", re.IGNORECASE)

_INVISIBLE = ("head", "title", "script", "style", "template", "noscript", "object", "iframe")
_HISTORY_CLASSES = frozenset(
    {
        "gmail_quote",
        "gmail_quote_container",
        "gmail_attr",
        "moz-cite-prefix",
        "yahoo_quoted",
        "OutlookMessageHeader",
        "protonmail_quote",
    }
)
_SIGNATURE_CLASSES = frozenset({"gmail_signature", "gmail_signature_prefix", "moz-signature"})
_MARK_IDS = frozenset(
    {
        "divRplyFwdMsg",
        "x_divRplyFwdMsg",
        "appendonsend",
        "mail-editor-reference-message-container",
        "Signature",
        "x_Signature",
        "signature",
        "ms-outlook-mobile-signature",
    }
)
_BLOCKS = frozenset(
    {"p", "div", "br", "hr", "li", "ul", "ol", "table", "tr", "td", "th", "blockquote", "pre"}
    | {"h1", "h2", "h3", "h4", "h5", "h6", "dl", "dt", "dd", "center", "section", "article"}
)

# Elements that show something, or hold a table's shape, with no text in them.
_KEEP_EMPTY = frozenset({"br", "hr", "img", "td", "th", "tr"})

TAGS = frozenset(
    {"a", "abbr", "b", "blockquote", "br", "caption", "code", "del", "div", "em", "hr", "i"}
    | {"img", "ins", "li", "ol", "p", "pre", "q", "s", "small", "span", "strike", "strong"}
    | {"sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul"}
    | {"h1", "h2", "h3", "h4", "h5", "h6"}
)
ATTRIBUTES = {
    "*": {"style"},
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
#: Style properties that change how text looks and can name no URL to load.
STYLE_PROPERTIES = frozenset(
    {"color", "background-color", "font-weight", "font-style", "font-size", "font-family"}
    | {"text-decoration", "text-align", "margin-left", "padding-left", "list-style-type"}
)


@dataclass(frozen=True)
class ReplyHtml:
    #: A sanitised fragment, safe to put in our template as it is.
    html: str
    #: The Content-IDs (as the agent's mail had them) of the attached images it shows.
    shown: frozenset[str]


def reply_html(source: str, images: Mapping[str, str]) -> ReplyHtml | None:
    """What the agent wrote in `source`, safe for the customer; None when nothing is left.

    `images` maps the Content-ID of each image the agent attached (without brackets) to the
    one the outgoing mail gives it.
    """
    source = _UNSAFE_CHARS.sub("", _DATA_URI.sub("data:", source))
    if len(source) > MAX_HTML_CHARS or not source.strip():
        return None
    try:
        tree = document_fromstring(source)
    except (ParserError, ValueError):
        return None
    body = tree.find("body")
    if body is None:
        body = tree
    for element in list(body.iter(*_INVISIBLE)):
        element.drop_tree()
    mark = next((e for e in body.iter() if isinstance(e.tag, str) and _is_mark(e)), None)
    if mark is not None:
        _cut_from(body, mark)
    shown = _images(body, images)
    _trim(list(_lines(body)), commands=True)
    _trim(list(reversed(list(_lines(body)))), commands=False)
    _drop_empty(body)
    body.attrib.clear()
    body.tag = "div"
    html = nh3.clean(
        tostring(body, encoding=str),
        tags=set(TAGS),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        attribute_filter=_attribute,
        url_schemes={"http", "https", "mailto", "cid"},
        filter_style_properties=set(STYLE_PROPERTIES),
    )
    if not shown and not _visible_text(html):
        return None
    return ReplyHtml(html, frozenset(shown))


def _is_mark(element: Any) -> bool:
    """Whether quoted history or a signature starts at `element`."""
    classes = set((element.get("class") or "").split())
    if classes & (_HISTORY_CLASSES | _SIGNATURE_CLASSES) or element.get("id") in _MARK_IDS:
        return True
    if element.get("data-smartmail") == "gmail_signature":
        return True
    if element.tag == "a" and element.get("name") == "_MailAutoSig":
        return True  # where Outlook for Windows inserts the signature
    if element.tag == "blockquote" and (element.get("type") or "").lower() == "cite":
        return True
    if element.tag not in ("p", "div"):
        return False
    text = " ".join(element.text_content()[: 4 * _MAX_MARK_CHARS].split())
    style = (element.get("style") or "").replace(" ", "").lower()
    if "border-top:" in style and _QUOTED_HEADERS.match(text):
        return True  # Outlook's "From: … Sent: … Subject:" block, above the history
    if len(text) > _MAX_MARK_CHARS or any(c.tag in _BLOCKS - {"br"} for c in element):
        return False
    return text == "--" or bool(_ORIGINAL_MESSAGE.match(text) or _ATTRIBUTION.match(text))


def _cut_from(body: Any, mark: Any) -> None:
    """Remove `mark` and everything after it in document order."""
    node = mark
    while node is not body:
        parent = node.getparent()
        for sibling in list(node.itersiblings()):
            parent.remove(sibling)
        node.tail = None
        node = parent
    mark.getparent().remove(mark)


def _images(body: Any, images: Mapping[str, str]) -> set[str]:
    """Keep the images the agent attached, under their new Content-IDs; drop the others."""
    known = {cid.strip("<>").lower(): (cid, new) for cid, new in images.items()}
    shown: set[str] = set()
    for image in list(body.iter("img")):
        source = (image.get("src") or "").strip()
        found = None
        if source.lower().startswith("cid:"):
            found = known.get(unquote(source[4:]).strip("<>").lower())
        if found is None:
            alt = " ".join((image.get("alt") or "").split())
            image.tail = f"{alt} {image.tail or ''}" if alt else image.tail
            image.drop_tree()
            continue
        original, new = found
        image.attrib.pop("srcset", None)
        image.set("src", f"cid:{new}")
        shown.add(original)
    return shown


# A line is what a mail client shows on one row: the text slots (an element's text or tail)
# between two block boundaries. Each item: (slots, images, the <br> that ends it or None).
_Line = tuple[list[tuple[Any, str]], int, Any]


def _lines(body: Any) -> Iterator[_Line]:
    slots: list[tuple[Any, str]] = []
    images = 0
    stack: list[tuple[Any, bool]] = [(body, False)]
    while stack:
        element, closing = stack.pop()
        if closing:
            if element.tag in _BLOCKS:
                yield slots, images, None
                slots, images = [], 0
            if element.tail and element is not body:
                slots.append((element, "tail"))
            continue
        if not isinstance(element.tag, str):  # a comment: only its tail shows
            if element.tail:
                slots.append((element, "tail"))
            continue
        if element.tag in _BLOCKS:
            yield slots, images, element if element.tag == "br" else None
            slots, images = [], 0
        if element.tag == "img":
            images += 1
        if element.text:
            slots.append((element, "text"))
        stack.append((element, True))
        stack.extend((child, False) for child in reversed(element))


def _trim(lines: list[_Line], *, commands: bool) -> None:
    """Blank the lines from the edge `lines` starts at while they are blank (or, with
    `commands`, command lines), and drop the line breaks that ended them."""
    breaks = []
    for slots, images, br in lines:
        text = "".join(getattr(e, slot) or "" for e, slot in slots).strip()
        if images or (text and not (commands and _COMMAND.match(text))):
            break
        for element, slot in slots:
            setattr(element, slot, None)
        if br is not None:
            breaks.append(br)
    # Only now: a break's tail, moved to the element before it, may be a line read above.
    for br in breaks:
        br.drop_tree()


def _drop_empty(body: Any) -> None:
    """Drop the elements the cuts left with nothing to show (they would show as space)."""
    for element in reversed(list(body.iter())):
        if element is body or not isinstance(element.tag, str) or element.tag in _KEEP_EMPTY:
            continue
        if len(element) == 0 and not (element.text or "").strip():
            element.drop_tree()


def _attribute(element: str, attribute: str, value: str) -> str | None:
    # Only attached images (cid:) may be shown; the tree pass dropped the others already.
    if element == "img" and attribute == "src" and not value.lower().startswith("cid:"):
        return None
    return value


def _visible_text(html: str) -> bool:
    return bool(re.sub(r"<[^>]*>|&nbsp;|\s", "", html))
