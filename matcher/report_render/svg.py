"""Small SVG charts drawn by the project: a heatmap and horizontal stacked bars. All text is escaped.

Every chart draws its title as visible text at its top (`chart_title`), not only as the <title> a screen reader
or a tooltip reads: a chart copied out of the report, or printed, still says what it shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from .japan_map import TITLE_HEIGHT, chart_title, colour, title_width


def heatmap_svg(rows: list[str], cols: list[str], values: Sequence[Sequence[float]], title: str,
                fmt: str = "{:.0f}") -> str:
    cell, left, top = 46, 70, 60 + TITLE_HEIGHT
    width = max(left + cell * len(cols) + 10, title_width(title))
    height = top + cell * len(rows) + 30
    high = max((v for row in values for v in row), default=0) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="heatmap" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>',
             chart_title(title),
             f'<text x="{left}" y="{14 + TITLE_HEIGHT}" font-size="11">連携先の地域 →</text>',
             f'<text x="4" y="{30 + TITLE_HEIGHT}" font-size="11">ニーズの地域 ↓</text>']
    for j, c in enumerate(cols):
        parts.append(f'<text x="{left + j * cell + cell / 2}" y="{top - 8}" font-size="11" text-anchor="middle">'
                     f'{escape(c)}</text>')
    for i, r in enumerate(rows):
        y = top + i * cell
        parts.append(f'<text x="{left - 6}" y="{y + cell / 2 + 4}" font-size="11" text-anchor="end">{escape(r)}</text>')
        for j, c in enumerate(cols):
            parts.append(_heat_cell(left + j * cell, y, cell, values[i][j], high, f"{r} → {c}", fmt, diagonal=i == j))
    parts.append(f'<text x="{left}" y="{height - 8}" font-size="10">枠線（橙）は同じ地域の中の連携。</text></svg>')
    return "".join(parts)


def _heat_cell(x: int, y: int, cell: int, v: float, high: float, label: str, fmt: str, *, diagonal: bool) -> str:
    """One cell of the heatmap: shaded by v / high, with its value written unless it is 0."""
    share = v / high
    fill = colour(share) if v else "#f8fafc"
    text_fill = "#ffffff" if share > 0.55 else "#111827"
    stroke = ' stroke="#f59e0b" stroke-width="2"' if diagonal else ' stroke="#e2e8f0"'
    out = (f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="{fill}"{stroke}>'
           f'<title>{escape(label)}: {fmt.format(v)}</title></rect>')
    if v:
        out += (f'<text x="{x + cell / 2 - 1}" y="{y + cell / 2 + 4}" font-size="11" text-anchor="middle" '
                f'fill="{text_fill}">{escape(fmt.format(v))}</text>')
    return out


def stacked_bars_svg(labels: list[str], series: Sequence[tuple[str, str, Sequence[float]]], title: str,
                     notes: list[str] | None = None) -> str:
    """One horizontal bar per label; `series` = [(name, colour, values)], stacked left to right."""
    bar, gap, left, plot, top = 18, 6, 170, 380, TITLE_HEIGHT
    height = top + 40 + len(labels) * (bar + gap) + 30
    width = left + plot + 260
    totals = [sum(s[2][i] for s in series) for i in range(len(labels))]
    high = max(totals, default=0) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="bars" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>',
             chart_title(title)]
    x: float = left
    for name, fill, _ in series:  # legend
        parts.append(f'<rect x="{x}" y="{top + 6}" width="12" height="12" fill="{fill}"/>'
                     f'<text x="{x + 16}" y="{top + 16}" font-size="11">{escape(name)}</text>')
        x += 26 + 12 * len(name)
    for i, label in enumerate(labels):
        y = top + 30 + i * (bar + gap)
        parts.append(f'<text x="{left - 6}" y="{y + bar - 5}" font-size="11" text-anchor="end">'
                     f'{escape(label[:16])}</text>')
        x = left
        for name, fill, values in series:
            w = plot * values[i] / high
            if w > 0:
                parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar}" fill="{fill}">'
                             f'<title>{escape(label)} {escape(name)}: {values[i]:g}</title></rect>')
            x += w
        note = notes[i] if notes else f"{totals[i]:g}"
        parts.append(f'<text x="{x + 6:.1f}" y="{y + bar - 5}" font-size="11">{escape(note)}</text>')
    parts.append("</svg>")
    return "".join(parts)
