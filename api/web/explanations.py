"""Scores in words on the result pages: the closeness band, its rule, and the gain from crossing regions.

The API keeps the numbers (api/schemas.py documents them); the pages say what they mean. The bands
themselves are the engine's (matcher/results.py, CLOSENESS_BANDS), so a page, the CLI and the report
read a closeness the same way.
"""

from __future__ import annotations

from typing import Any

from matcher.results import CLOSENESS_BANDS, LOWEST_BAND, closeness_band

HELP_URL = "/help/scores"
BAND_CLASSES = {"とても近い": "band-high", "近い": "band-mid", LOWEST_BAND: "band-low"}


def band_rule() -> str:
    """The bands' rule in one sentence (the tooltip of every band on a page)."""
    steps = [f"{floor:g} 以上で「{name}」" for floor, name in CLOSENESS_BANDS]
    return ("内容の近さ（ニーズと最も近いシーズの文の意味の近さ。0〜1で、1に近いほど近い）が"
            + "、".join(steps) + f"、それ未満は「{LOWEST_BAND}」です。")


# what each band means on the demo, for the help page (matcher/results.py says how the floors were chosen)
BAND_MEANINGS = {"とても近い": "ニーズの主題そのものを扱うシーズがあります。",
                 "近い": "同じ分野で、ニーズに近い課題を扱うシーズがあります。",
                 LOWEST_BAND: "分野の一部が重なる程度です。共通する語で、どこが重なるかを確かめてください。"}


def band_rows() -> list[dict[str, str]]:
    """The bands, best first, each with its range of closeness, CSS class and meaning (the help page's table)."""
    rows, upper = [], None
    for floor, name in [*CLOSENESS_BANDS, (0.0, LOWEST_BAND)]:
        low = f"{floor:g} 以上" if floor > 0 else ""
        high = f"{upper:g} 未満" if upper is not None else ""
        rows.append({"name": name, "range": " ".join(r for r in (low, high) if r), "css": BAND_CLASSES[name],
                     "meaning": BAND_MEANINGS[name]})
        upper = floor
    return rows


def band_class(similarity: float) -> str:
    return BAND_CLASSES[closeness_band(similarity)]


# The sort's two values (matcher/rank.py, SORTS), in one sentence under the filter form.
SORT_HELP = ("総合: 近いシーズ上位10件のスコアでまとめた順（交差検証で選んだ既定の順位付け）。"
             "内容重視: 最も近いシーズ1件のスコアだけの順（合うシーズの数も、シーズの総数も数えません）。"
             "どちらでも、シーズの数（実績・体制）は順位に入れず、候補ごとに別に示します。")


def seed_floor_note(floor: float) -> str:
    """How a partner's seeds were chosen, for the heading of its seed list."""
    return (f"最も合うシーズのスコアの {floor:.0%} 以上のシーズだけを示します（少なくとも1件、最大3件）。"
            if floor > 0 else "スコアの高い順に最大3件を示します。")


def _field(record: Any, name: str) -> Any:
    return record[name] if isinstance(record, dict) else getattr(record, name)


def gain_sentence(match: Any) -> str | None:
    """What crossing regions gains, in a sentence; None where the need has no prefecture or nothing is shown.

    `match` is the API's MatchOut (or its dict): the partners' `score` are on one scale for a query, so the
    best shown partner's and the best in-region partner's can be compared as a ratio.
    """
    partners = _field(match, "partners")
    need = _field(match, "need")
    prefecture = _field(need, "prefecture")
    if not partners or prefecture is None:
        return None
    region = _field(prefecture, "region")
    best, local = partners[0], _field(match, "best_in_region")
    best_name, best_score, best_sim = _field(best, "name"), _field(best, "score"), _field(best, "similarity")
    if local is None:
        return (f"同じ地域（{region}）には合う候補がありませんでした。地域を越えて探すと、最上位の{best_name}"
                f"（内容の近さ {best_sim:.2f}・{closeness_band(best_sim)}）が見つかります。")
    local_name, local_score, local_sim = _field(local, "name"), _field(local, "score"), _field(local, "similarity")
    if _field(best, "key") == _field(local, "key"):
        return (f"最も合う候補（{best_name}）は同じ地域（{region}）にあります。"
                "地域を越えても、これより合う候補はありません。")
    if best_score <= local_score + 1e-9:
        return f"同じ地域（{region}）の{local_name}が、地域を越えて探した最上位と同じくらい合います。"
    rise = f"（{local_score:.2f} → {best_score:.2f}" + (
        f"、{(best_score - local_score) / local_score:.0%} 高い）" if local_score > 0 else "）")
    return (f"地域を越えて探すと、最上位の{best_name}は、同じ地域（{region}）で最も合う{local_name}より"
            f"順位付けのスコアが高くなります{rise}。最も近いシーズの内容の近さは、{best_name}が {best_sim:.2f}"
            f"（{closeness_band(best_sim)}）、{local_name}が {local_sim:.2f}（{closeness_band(local_sim)}）です。")
