"""The self-contained HTML report: inline CSS and SVG, no external asset, no script.

The template is `templates/report.html.j2` (Jinja2, autoescaped); the charts
are SVG strings built (and escaped) by svg.py and japan_map.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from markupsafe import Markup

from matcher.jst import jst_text
from matcher.reports.concentration import OVER_SHARE
from matcher.reports.wording import unmet_rule

from . import outcomes
from .japan_map import choropleth_svg
from .svg import heatmap_svg, stacked_bars_svg

if TYPE_CHECKING:
    from matcher.reports import GroupStat, Report

TEMPLATES = Path(__file__).resolve().parent / "templates"
FONT_STACK = '"Noto Sans CJK JP", "Noto Sans JP", "Hiragino Sans", "Yu Gothic", "Meiryo", sans-serif'
STAY, CROSS = "#93c5fd", "#1e40af"
CONCENTRATION_SHOWN = 30  # universities in the HTML table (every one is in the CSV and XLSX)


def _bars(stats: list[GroupStat], title: str) -> str:
    groups = [g for g in stats if g.needs]
    return stacked_bars_svg(
        [g.label for g in groups],
        [("地域内で最良", STAY, [g.needs - g.crossing for g in groups]),
         ("地域外が最良", CROSS, [g.crossing for g in groups])],
        title, notes=[f"{g.needs} 件（地域外 {g.share_crossing:.0%}・未充足 {g.unmet}）" for g in groups])


def render_html(report: Report, *, for_print: bool = False) -> str:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    env.filters["pct"] = lambda v: f"{v:.1%}"
    env.filters["num"] = lambda v: f"{v:.3f}"
    prefs = report.by_prefecture
    share_label = "最良の連携先が地域外にあるニーズの割合"
    map_svg = choropleth_svg(
        {g.key: (g.share_crossing if g.needs else None) for g in prefs}, {g.key: g.label for g in prefs},
        {g.key: g.needs for g in prefs}, f"都道府県別: {share_label}", share_label)
    charts = {
        "flow_counts": heatmap_svg(report.flow.regions, report.flow.regions, report.flow.counts,
                                   f"地域間の流れ（各ニーズの上位{report.flow.partners_per_need}件、件数）"),
        "flow_weighted": heatmap_svg(report.flow.regions, report.flow.regions, report.flow.weighted,
                                     "地域間の流れ（スコアの合計）", fmt="{:.1f}"),
        "flow_best": heatmap_svg(report.flow_best.regions, report.flow_best.regions, report.flow_best.counts,
                                 "地域間の流れ（最良の連携先のみ、件数）"),
        "by_region": _bars(report.by_region, "地域別のニーズ"),
        "by_market_area": _bars(report.by_market_area, "市場領域別のニーズ"),
        "map": map_svg,
    }
    unmet = [n for n in report.needs if n.unmet]
    return env.get_template("report.html.j2").render(
        r=report, charts={k: Markup(v) for k, v in charts.items()}, unmet=unmet, font_stack=Markup(FONT_STACK),
        for_print=for_print, needs_shown=report.needs[:500], needs_total=len(report.needs),
        universities_shown=report.universities[:100], concentration_shown=report.concentration[:CONCENTRATION_SHOWN],
        over_share=OVER_SHARE, bar_scale=_bar_scale(report), generated=jst_text(report.meta.generated_at),
        unmet_rule=unmet_rule(report.meta.unmet_threshold), outcomes=_outcomes_section(report),
    )


def _outcomes_section(report: Report) -> dict[str, object] | None:
    """The words of the outcomes section (outcomes.py); None for a report made without the service."""
    scope = report.outcomes_scope
    if scope is None:
        return None
    return {"title": outcomes.TITLE, "sentences": outcomes.sentences(scope), "none_yet": outcomes.NONE_YET,
            "header": outcomes.header(scope.ignored_after_days)}


def _bar_scale(report: Report, width: float = 160.0) -> float:
    """Pixels per unit share, so that the largest share in the concentration table is `width` wide."""
    largest = max((max(c.share_best, c.share_seeds) for c in report.concentration), default=0.0)
    return width / largest if largest else 0.0
