"""A report built from a given score table, large enough that its tables run over several PDF pages and wider
than a phone: for the layout tests of the report files (tests/test_report_layout.py, tests/web/test_report_page.py).
"""

from __future__ import annotations

from matcher.market_areas import market_area_names
from matcher.regions import default_prefectures
from matcher.reports import NeedReport, PartnerScore, Report, ReportOptions, summarise

GENERATED_AT = "2026-12-03T12:05:00+00:00"  # 21:05 in Japan


def big_report(needs: int = 160, universities: int = 40) -> Report:
    prefs = default_prefectures()
    codes = [f"{i:02d}" for i in range(1, 48)]
    unis = [(f"国立研究大学{i}", codes[i % 47], prefs.get(codes[i % 47]).region) for i in range(universities)]
    rows = []
    for k in range(needs):
        code = codes[k % 47]
        region = prefs.get(code).region
        partners = [PartnerScore(name, c, r, 0.9 - 0.01 * j - 0.001 * (k % 7), 0.88, 1, r != region)
                    for j, (name, c, r) in enumerate(unis[k % 13:k % 13 + 4])]
        local = next((p for p in partners if p.region == region), None)
        rows.append(NeedReport(k + 1, f"ニーズ{k + 1}: 地域の資源を生かした新しい製品づくりの課題", code,
                               prefs.get(code).name, region, ("M3",), "テスト市", partners, local,
                               partners[0].score - (local.score if local else 0.0), 0.86 + 0.0005 * (k % 40),
                               k % 9 == 0))
    report = summarise(rows, unis, ReportOptions(flow_partners=2), prefs, market_area_names(),
                       seeds_per_university={name: 5 for name, _, _ in unis})
    report.meta.scope = "全国のすべてのニーズ"
    report.meta.generated_at = GENERATED_AT
    return report
