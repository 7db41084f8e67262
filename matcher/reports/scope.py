"""Which needs a report covers (`select_needs`), and the one wording of a scope (`describe_scope`).

The wording is shared by the report itself, the coordinator's page and the report jobs of the API,
so that a scope reads the same wherever it is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from ..errors import InvalidInputError
from ..market_areas import market_area_names
from ..records import Need
from ..regions import REGION_ORDER, PrefectureTable, default_prefectures
from .model import ReportScope

if TYPE_CHECKING:
    from ..engine import Engine

NeedTest = Callable[[Need], bool]

UNRESTRICTED = "全国のすべてのニーズ"


# ---- selection -----------------------------------------------------------
def select_needs(engine: Engine, scope: ReportScope) -> list[Need]:
    """The engine's needs in `scope`, by id."""
    tests = _need_tests(scope, engine.prefectures)
    return [need for need in sorted(engine.needs.values(), key=lambda n: n.id) if all(t(need) for t in tests)]


def _need_tests(scope: ReportScope, prefs: PrefectureTable) -> list[NeedTest]:
    """One test per restricting field of `scope`; a need is in scope when it passes them all."""
    _check_regions(scope.regions)
    tests: list[NeedTest] = []
    if scope.need_ids:
        tests.append(_among(set(scope.need_ids)))
    if not scope.include_confidential:
        tests.append(_not_confidential)
    if scope.regions:
        tests.append(_in_regions(set(scope.regions), prefs))
    if scope.prefectures:
        tests.append(_in_prefectures({prefs.get(p).code for p in scope.prefectures}, prefs))
    if scope.market_areas:
        tests.append(_in_market_areas(set(scope.market_areas)))
    if scope.since or scope.until:
        tests.append(_in_period(scope.since, scope.until))
    return tests


def _check_regions(regions: tuple[str, ...]) -> None:
    for region in regions:
        if region not in REGION_ORDER:
            raise InvalidInputError(
                f"地域ブロック「{region}」が見つかりません。{'・'.join(REGION_ORDER)}のいずれかを指定してください。")


def region_of_need(need: Need, prefs: PrefectureTable) -> str | None:
    return prefs.get(need.prefecture_code).region if need.prefecture_code else None


def _among(ids: set[int]) -> NeedTest:
    return lambda need: need.id in ids


def _not_confidential(need: Need) -> bool:
    return need.visibility != "confidential"


def _in_regions(regions: set[str], prefs: PrefectureTable) -> NeedTest:
    return lambda need: region_of_need(need, prefs) in regions


def _in_prefectures(codes: set[str], prefs: PrefectureTable) -> NeedTest:
    return lambda need: bool(need.prefecture_code) and prefs.get(need.prefecture_code).code in codes


def _in_market_areas(areas: set[str]) -> NeedTest:
    return lambda need: bool(areas & set(need.market_areas))


def _in_period(since: datetime | None, until: datetime | None) -> NeedTest:
    """Created in [since, until); a need without a date (corpus needs carry none) is outside any period."""

    def test(need: Need) -> bool:
        created: datetime | None = need.extra.get("created_at")
        if created is None:
            return False
        return not (since and created < since) and not (until and created >= until)

    return test


# ---- wording ---------------------------------------------------------------
def describe_scope(scope: ReportScope) -> str:
    """The scope in Japanese, as the report, the coordinator's page and the API's report jobs show it.

    For example "地域: 中部・九州、市場領域: M3 持続的一次生産システム、期間: 2025-04-01〜2026-04-01".
    Prefectures are named, market areas carry their names, the period shows dates
    (`until` as given: the first day no longer in the period); "全国のすべてのニーズ"
    when nothing restricts.
    """
    parts = []
    if scope.regions:
        parts.append("地域: " + "・".join(scope.regions))
    if scope.prefectures:
        prefs = default_prefectures()
        parts.append("都道府県: " + "・".join(prefs.get(p).name for p in scope.prefectures))
    if scope.market_areas:
        parts.append("市場領域: " + "・".join(_market_area_label(code) for code in scope.market_areas))
    if scope.since or scope.until:
        parts.append(f"期間: {_day(scope.since)}〜{_day(scope.until)}")
    if scope.need_ids:
        parts.append(f"ニーズ {len(scope.need_ids)} 件を指定")
    return "、".join(parts) or UNRESTRICTED


def _market_area_label(code: str) -> str:
    name = market_area_names().get(code)
    return f"{code} {name}" if name else code


def _day(moment: datetime | None) -> str:
    return moment.date().isoformat() if moment else ""
