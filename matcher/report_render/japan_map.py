"""A tile-grid cartogram of Japan's 47 prefectures, drawn as SVG by the project.

Every prefecture is one equal square placed roughly where it lies (west→east,
north→south); areas and shapes are not the real ones, which the legend says.
The layout is the project's own. Its title is drawn at the top, as on every chart of the report (`chart_title`).
"""

from __future__ import annotations

from html import escape

from matcher.regions import short_name

# code → (column, row); columns west→east, rows north→south
TILES: dict[str, tuple[int, int]] = {
    "01": (13, 0),
    "02": (12, 1),
    "05": (11, 2), "03": (12, 2),
    "06": (11, 3), "04": (12, 3),
    "17": (8, 4), "16": (9, 4), "15": (10, 4), "07": (11, 4),
    "32": (3, 5), "31": (4, 5), "28": (5, 5), "26": (6, 5), "18": (7, 5), "21": (8, 5), "20": (9, 5),
    "10": (10, 5), "09": (11, 5), "08": (12, 5),
    "35": (2, 6), "34": (3, 6), "33": (4, 6), "27": (5, 6), "25": (6, 6), "23": (8, 6), "19": (9, 6),
    "11": (10, 6), "13": (11, 6), "12": (12, 6),
    "42": (0, 7), "41": (1, 7), "40": (2, 7), "30": (5, 7), "29": (6, 7), "24": (7, 7), "22": (9, 7), "14": (10, 7),
    "43": (1, 8), "44": (2, 8), "38": (3, 8), "37": (4, 8),
    "46": (1, 9), "45": (2, 9), "39": (3, 9), "36": (4, 9),
    "47": (0, 11),
}

TILE = 40
GAP = 3
TITLE_HEIGHT = 26  # the band at the top of a chart that holds its title
TITLE_SIZE = 14


def chart_title(title: str) -> str:
    """The chart's title as visible text in the band at its top."""
    return (f'<text class="chart-title" x="4" y="{TITLE_SIZE + 4}" font-size="{TITLE_SIZE}" font-weight="bold">'
            f'{escape(title)}</text>')


def title_width(title: str) -> int:
    """Width enough for the title (Japanese characters are about one em wide)."""
    return 12 + len(title) * TITLE_SIZE


def colour(value: float | None) -> str:
    """White → deep blue for 0 → 1; grey for no data."""
    if value is None:
        return "#e5e5e5"
    v = min(max(value, 0.0), 1.0)
    start, end = (239, 246, 255), (30, 64, 175)
    r, g, b = (round(s + (e - s) * v) for s, e in zip(start, end, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def choropleth_svg(values: dict[str, float | None], names: dict[str, str], counts: dict[str, int],
                   title: str, legend_label: str) -> str:
    cols = max(c for c, _ in TILES.values()) + 1
    rows = max(r for _, r in TILES.values()) + 1
    top = 10 + TITLE_HEIGHT
    width, height = max(cols * TILE + 20, title_width(title)), rows * TILE + 110 + TITLE_HEIGHT
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="map" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" role="img" aria-label="{escape(title)}">',
             f'<title>{escape(title)}</title>', chart_title(title)]
    for code, (c, r) in TILES.items():
        x, y = 10 + c * TILE, top + r * TILE
        value = values.get(code)
        fill = colour(value)
        text_fill = "#ffffff" if value is not None and value > 0.55 else "#111827"
        name = names.get(code, code)
        short = short_name(name)  # 京都府 → 京都, 東京都 → 東京, 北海道 stays
        share = f"、{legend_label} {value:.0%}" if value is not None else ""
        tip = f"{name}: ニーズ {counts.get(code, 0)} 件{share}"
        parts.append(f'<g class="tile" data-code="{code}"><title>{escape(tip)}</title>'
                     f'<rect x="{x}" y="{y}" width="{TILE - GAP}" height="{TILE - GAP}" rx="3" fill="{fill}" '
                     f'stroke="#94a3b8" stroke-width="0.5"/>'
                     f'<text x="{x + (TILE - GAP) / 2}" y="{y + 16}" font-size="10" text-anchor="middle" '
                     f'fill="{text_fill}">{escape(short[:3])}</text>'
                     f'<text x="{x + (TILE - GAP) / 2}" y="{y + 30}" font-size="9" text-anchor="middle" '
                     f'fill="{text_fill}">{counts.get(code, 0) or ""}</text></g>')
    # Okinawa sits apart: a thin frame marks the inset
    ox, oy = 10 + TILES["47"][0] * TILE - 4, top + TILES["47"][1] * TILE - 4
    parts.append(f'<rect x="{ox}" y="{oy}" width="{TILE + 5}" height="{TILE + 5}" fill="none" stroke="#64748b" '
                 f'stroke-dasharray="3 2"/>')
    # legend
    ly = top + rows * TILE + 12
    for i in range(11):
        parts.append(f'<rect x="{10 + i * 22}" y="{ly}" width="22" height="12" fill="{colour(i / 10)}"/>')
    parts.append(f'<text x="10" y="{ly + 26}" font-size="10">0%</text>'
                 f'<text x="{10 + 10 * 22}" y="{ly + 26}" font-size="10">100%</text>'
                 f'<rect x="{270}" y="{ly}" width="12" height="12" fill="{colour(None)}"/>'
                 f'<text x="{286}" y="{ly + 10}" font-size="10">ニーズなし</text>'
                 f'<text x="10" y="{ly + 42}" font-size="10">{escape(legend_label)}（数字はニーズ数）。</text>'
                 f'<text x="10" y="{ly + 56}" font-size="10">'
                 'タイルグリッド地図: 各都道府県を同じ大きさの正方形で</text>'
                 f'<text x="10" y="{ly + 70}" font-size="10">'
                 'おおよその位置に並べたもの。面積・形は実際と異なります。</text>')
    parts.append("</svg>")
    return "".join(parts)
