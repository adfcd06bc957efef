"""Readable plain text from a text/html mail body.

This module owns the conversion used when a message has no text/plain part. Layout is done by
inscriptis (CSS-aware blocks, lists, pre, tables as grids); this module prepares the lxml tree
it renders so the result suits a ticket:

- invisible content (head, script, style, template, noscript) is dropped;
- links are written as "text (url)", and only once when the text already is the url;
- Outlook's Word paragraphs render without the extra blank lines a browser would not show;
- a table keeps its grid only while the grid stays about as large as the table's text, so
  layout tables and hostile markup cannot blow the output up; others become one line per row;
- input is cut at a fixed size and inline data: URIs are emptied first, so work is bounded.

It never raises on malformed input: whatever lxml or inscriptis reject falls back to a crude
tag strip, because a ticket must be created even from a mail nobody can render.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Iterable
from typing import Any

from inscriptis.css_profiles import CSS_PROFILES  # type: ignore[import-untyped]
from inscriptis.html_engine import Inscriptis  # type: ignore[import-untyped]
from inscriptis.model.config import ParserConfig  # type: ignore[import-untyped]
from lxml.etree import ParserError  # type: ignore[import-untyped]
from lxml.html import document_fromstring  # type: ignore[import-untyped]

# Well beyond any hand-written mail once data: URIs are gone; rendering time grows faster
# than linearly with some markup (about a second at this size in the worst cases measured),
# so this is the knob that bounds it.
MAX_HTML_CHARS = 256 * 1024
# Below this a data: URI is probably a tiny spacer and cheaper to keep than to scan for.
_MIN_DATA_URI_CHARS = 256
# A grid may be this many times larger than its text (plus a constant for padding on small
# tables) before it is flattened; real data tables stay far below.
_GRID_GROWTH_LIMIT = 4
_GRID_SLACK_CHARS = 1000
_CELL_SEPARATOR = " | "

_DATA_URI = re.compile(rf"data:[^\"'\s>)]{{{_MIN_DATA_URI_CHARS},}}", re.IGNORECASE)
# lxml refuses NUL and most C0 controls, and lone surrogates cannot be encoded at all.
_UNSAFE_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_INVISIBLE_CHARS = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff\u034f\u00ad]")
_TAG = re.compile(r"<[^>]{0,2000}>")
_TRAILING_SPACE = re.compile(r"[ \t]+$", re.MULTILINE)
_BLANK_RUN = re.compile(r"\n{3,}")
_URL_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")
_WORD_PARAGRAPH = re.compile(r"\bMso\w+")

_INVISIBLE_TAGS = ("head", "title", "script", "style", "template", "noscript", "object")
_LINK_SCHEMES = ("http://", "https://", "ftp://", "mailto:")
_ROW_GROUPS = frozenset({"thead", "tbody", "tfoot"})
_CELLS = frozenset({"td", "th"})
_LINE_BREAKING = frozenset(
    {"br", "hr", "p", "div", "pre", "blockquote", "table", "tr", "caption", "ul", "ol", "li"}
    | {"dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "address", "center", "section"}
    | {"article", "aside", "header", "footer", "nav", "main", "figure", "figcaption"}
)

_CONFIG = ParserConfig(css=CSS_PROFILES["strict"], display_links=False, display_images=False)


def html_to_text(html: str) -> str:
    """Return readable text for an HTML mail body; empty for empty or invisible-only HTML."""
    source = _prepare_source(html)
    if not source.strip():
        return ""
    try:
        tree = document_fromstring(source)
        _prepare_tree(tree)
        rendered: str = Inscriptis(tree, _CONFIG).get_text()
    # Those are what lxml and inscriptis raise on input they cannot cope with; a ticket
    # still needs a body, so degrade to a crude strip instead of failing the mail.
    except (ParserError, ValueError, TypeError, IndexError, KeyError, RecursionError):
        rendered = _strip_tags(source)
    return _tidy(rendered)


def _prepare_source(html: str) -> str:
    source = _DATA_URI.sub("data:", html)
    if len(source) > MAX_HTML_CHARS:
        source = _drop_partial_tag(source[:MAX_HTML_CHARS])
    return _UNSAFE_CHARS.sub("", source)


def _drop_partial_tag(source: str) -> str:
    # The cut may land inside a tag, which lxml would then show as text.
    opening = source.rfind("<")
    return source[:opening] if opening > source.rfind(">") else source


def _prepare_tree(tree: Any) -> None:
    for element in list(tree.iter(*_INVISIBLE_TAGS)):
        element.drop_tree()
    for paragraph in list(tree.iter("p")):
        _undo_word_paragraph_margin(paragraph)
    for link in tree.iter("a"):
        _inline_link_target(link)
    # Innermost tables first, so an outer table is measured with its inner ones flattened.
    for table in reversed(list(tree.iter("table"))):
        if not _grid_is_affordable(table):
            _flatten_table(table)


def _undo_word_paragraph_margin(paragraph: Any) -> None:
    # Word marks its paragraphs Mso*, sets them margin:0 in a sheet inscriptis does not read
    # and spaces them with &nbsp; paragraphs. Only those spacers should leave a blank line.
    if _WORD_PARAGRAPH.search(paragraph.get("class", "")) and paragraph.text_content().strip():
        paragraph.tag = "div"


def _inline_link_target(link: Any) -> None:
    href = (link.get("href") or "").strip()
    if not href.lower().startswith(_LINK_SCHEMES):
        return
    target = href[len("mailto:") :] if href.lower().startswith("mailto:") else href
    text = " ".join(link.text_content().split())
    if _same_link(text, target):
        return
    link.tail = f" ({target}){link.tail or ''}"


def _same_link(text: str, target: str) -> bool:
    return not text or _bare_url(text) == _bare_url(target)


def _bare_url(value: str) -> str:
    return _URL_SCHEME.sub("", value.lower()).rstrip("/")


def _grid_is_affordable(table: Any) -> bool:
    """Whether inscriptis's padded grid for `table` stays proportional to its text."""
    widths: dict[int, int] = {}
    height = 0
    for row in _rows(table):
        row_height = 1
        for column, cell in enumerate(_cells(row)):
            width, lines = _cell_extent(cell)
            widths[column] = max(widths.get(column, 0), width + len(_CELL_SEPARATOR))
            row_height = max(row_height, lines)
        height += row_height
    text_size = len(table.text_content())
    return sum(widths.values()) * height <= _GRID_GROWTH_LIMIT * text_size + _GRID_SLACK_CHARS


def _cell_extent(cell: Any) -> tuple[int, int]:
    """Rough upper bounds for the width and line count of a rendered cell."""
    breaking = [node for node in cell.iterdescendants() if _breaks_lines(node)]
    nested_cells = sum(1 for node in cell.iterdescendants() if node.tag in _CELLS)
    preformatted = [pre.text_content() for pre in cell.iter("pre")]
    # Source indentation collapses, except inside <pre>; blocks and nested cells may indent
    # or pad, and links get their url appended.
    width = (
        len(" ".join(cell.text_content().split()))
        + sum(len(text) for text in preformatted)
        + len(_CELL_SEPARATOR) * (len(breaking) + nested_cells)
        + sum(len(link.get("href", "")) for link in cell.iter("a"))
    )
    lines = 1 + 2 * len(breaking) + sum(text.count("\n") for text in preformatted)
    return width, lines


def _breaks_lines(node: Any) -> bool:
    # An inline style can turn any element into a block, so it counts as one too.
    return node.tag in _LINE_BREAKING or "display" in (node.get("style") or "")


def _flatten_table(table: Any) -> None:
    for row in _rows(table):
        cells = list(_cells(row))
        for cell in cells[:-1]:
            cell.tail = _CELL_SEPARATOR + (cell.tail or "")
        for cell in cells:
            cell.tag = "span"
        row.tag = "div"
    for group in table:
        if group.tag in _ROW_GROUPS or group.tag == "caption":
            group.tag = "div"
    table.tag = "div"


def _rows(table: Any) -> Iterable[Any]:
    for child in table:
        if child.tag == "tr":
            yield child
        elif child.tag in _ROW_GROUPS:
            yield from (row for row in child if row.tag == "tr")


def _cells(row: Any) -> Iterable[Any]:
    return (cell for cell in row if cell.tag in _CELLS)


def _strip_tags(source: str) -> str:
    return html_lib.unescape(_TAG.sub(" ", source))


def _tidy(text: str) -> str:
    text = _INVISIBLE_CHARS.sub("", text.replace("\xa0", " ").replace("\r\n", "\n"))
    text = _TRAILING_SPACE.sub("", text)
    return _BLANK_RUN.sub("\n\n", text).strip()
