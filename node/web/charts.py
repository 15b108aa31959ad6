"""Charts drawn on the server as inline SVG: no script, no library, readable without styles.

Each chart is an ``<svg role="img">`` named by its ``<title>``; the page shows the same numbers in
a table next to it, so a screen reader (or a phone without SVG) loses nothing. Every label is
escaped: currency codes and month names come from the ledger.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 640
HEIGHT = 220
TOP, BOTTOM, SIDE = 24, 36, 8


@dataclass(frozen=True, slots=True)
class Bar:
    label: str  # under the bar
    value: int  # bar height, in any unit
    text: str  # over the bar (the value as people read it)


def bar_chart(chart_id: str, title: str, bars: Sequence[Bar]) -> Markup:
    """Vertical bars scaled to the largest value; an empty chart says so in its title."""
    plot_height = HEIGHT - TOP - BOTTOM
    top_value = max((b.value for b in bars), default=0) or 1
    slot = (WIDTH - 2 * SIDE) / max(len(bars), 1)
    width = max(4.0, slot * 0.7)
    parts = [
        f'<svg id="{escape(chart_id)}" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title" dir="ltr" preserveAspectRatio="xMidYMid meet">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<line x1="{SIDE}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - SIDE}" y2="{HEIGHT - BOTTOM}" class="axis"/>',
        '<g translate="no">',  # the bars' labels are data (months, amounts), not words to translate
    ]
    for index, bar in enumerate(bars):
        height = plot_height * max(bar.value, 0) / top_value
        x = SIDE + index * slot + (slot - width) / 2
        y = HEIGHT - BOTTOM - height
        middle = x + width / 2
        parts += [
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}" class="bar">'
            f"<title>{escape(bar.label)}: {escape(bar.text)}</title></rect>",
            f'<text x="{middle:.1f}" y="{y - 6:.1f}" class="value">{escape(bar.text)}</text>',
            f'<text x="{middle:.1f}" y="{HEIGHT - BOTTOM + 18}" class="label">{escape(bar.label)}</text>',
        ]
    parts.append("</g></svg>")
    return Markup("".join(parts))


@dataclass(frozen=True, slots=True)
class Bin:
    low: int  # inclusive
    high: int  # inclusive
    count: int


def histogram(values: Sequence[int], bins: int = 8) -> list[Bin]:
    """Bins of a round width (1, 2 or 5 times a power of ten, in minor units) that start at a
    multiple of it, so their edges read like 0.00, 5.00, 10.00; at most ``bins`` of them."""
    if not values:
        return []
    low, high = min(values), max(values)
    width = _round_width(-(-(high - low + 1) // max(1, min(bins, len(set(values))))))
    start = (low // width) * width  # floor, also below zero
    while (high - start) // width >= bins:  # aligning the start can need one more round step
        width = _round_width(width + 1)
        start = (low // width) * width
    counts = [0] * ((high - start) // width + 1)
    for value in values:
        counts[(value - start) // width] += 1
    return [Bin(start + i * width, start + (i + 1) * width - 1, count) for i, count in enumerate(counts)]


def _round_width(at_least: int) -> int:
    """The smallest 1, 2 or 5 × 10^k that is at least ``at_least``."""
    scale = 1
    while True:
        for step in (1, 2, 5):
            if step * scale >= at_least:
                return step * scale
        scale *= 10


@dataclass(frozen=True, slots=True)
class Share:
    kind: str  # CSS class of its segment: yes, no, abstain
    value: int
    text: str  # its label, e.g. "Yes: 3"


VOTE_WIDTH, VOTE_HEIGHT = 600, 36


def vote_bar(chart_id: str, title: str, shares: Sequence[Share], total: int, mark_pct: int) -> Markup:
    """One horizontal bar of ``total`` (the electorate): a segment per share from the start,
    what nobody has cast yet after them, and a line at ``mark_pct`` % (the quorum). Drawn left
    to right; the stylesheet mirrors it on right-to-left pages. The page prints the same numbers
    as text."""
    whole = max(total, 1)
    parts = [
        f'<svg id="{escape(chart_id)}" class="votes" viewBox="0 0 {VOTE_WIDTH} {VOTE_HEIGHT}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title" preserveAspectRatio="none">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<rect x="0" y="6" width="{VOTE_WIDTH}" height="{VOTE_HEIGHT - 12}" class="unvoted"/>',
    ]
    x = 0.0
    for share in shares:
        width = VOTE_WIDTH * max(share.value, 0) / whole
        if width > 0:
            parts.append(
                f'<rect x="{x:.1f}" y="6" width="{width:.1f}" height="{VOTE_HEIGHT - 12}" '
                f'class="{escape(share.kind)}"><title>{escape(share.text)}</title></rect>'
            )
        x += width
    mark = VOTE_WIDTH * min(max(mark_pct, 0), 100) / 100
    parts.append(f'<line x1="{mark:.1f}" y1="0" x2="{mark:.1f}" y2="{VOTE_HEIGHT}" class="mark"/>')
    parts.append("</svg>")
    return Markup("".join(parts))
