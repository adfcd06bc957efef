"""Small charts for the HTML part of a mail, drawn as PNG and sent inline (`cid:`).

A mail's context may carry `charts`: `{name: {"cid", "labels", "series": {key: [numbers]}}}`;
the HTML template shows each as `<img src="cid:{{ charts.<name>.cid }}">` and the sender
attaches the drawing under that Content-ID. PNG, not SVG: Gmail and Outlook show no SVG.
Drawn with matplotlib's object API on the Agg backend: no display, no global figure state,
safe in the sender's thread.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: Series names as the reader sees them in the legend, by the mail's locale.
LEGENDS = {
    "en": {"created": "New", "resolved": "Resolved"},
    "pt_BR": {"created": "Novos", "resolved": "Resolvidos"},
}
_COLOURS = ("#0969da", "#1a7f37", "#bf8700", "#cf222e")


@dataclass(frozen=True)
class InlineImage:
    cid: str  # without angle brackets, as the HTML names it after `cid:`
    png: bytes


def draw_all(charts: Mapping[str, Mapping[str, Any]], locale: str) -> list[InlineImage]:
    """Every chart of a mail's context, drawn."""
    return [
        InlineImage(str(spec["cid"]), bar_chart(spec["labels"], spec["series"], locale))
        for spec in charts.values()
    ]


def bar_chart(labels: Sequence[str], series: Mapping[str, Sequence[float]], locale: str) -> bytes:
    """Grouped bars, one group per label and one bar per series, as PNG bytes."""
    # Imported here: matplotlib takes a while to load, and only the digest needs it.
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    legends = LEGENDS.get(locale, LEGENDS["en"])
    figure = Figure(figsize=(5.6, 2.0), dpi=100, layout="constrained")
    axes = figure.add_subplot()
    width = 0.8 / max(len(series), 1)
    for index, (name, values) in enumerate(series.items()):
        positions = [x + (index - (len(series) - 1) / 2) * width for x in range(len(labels))]
        colour = _COLOURS[index % len(_COLOURS)]
        axes.bar(positions, values, width, label=legends.get(name, name), color=colour)
    axes.set_xticks(range(len(labels)), labels, fontsize=7)
    axes.tick_params(axis="y", labelsize=7)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # tickets come whole
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.legend(frameon=False, fontsize=7, loc="upper left")
    buffer = io.BytesIO()
    # No metadata: the same figures give the same bytes.
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
