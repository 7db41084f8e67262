"""One need's partners as a file: CSV (UTF-8 with BOM) or XLSX, for the results page and the API alike.

The rows come from the `MatchOut` the page shows (api/queries.match_need → api/present.match_out), never from the
engine directly: so a file lists the same partners in the same order as the page for the same options, and a
researcher's e-mail or phone is in it only where the reader may see it on the page (api/access.may_see_contact),
recorded in the audit log the same way. The cells go through the reports' writers (matcher/report_render), which
neutralise anything a spreadsheet would read as a formula.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Literal

from fastapi.responses import Response

from matcher.rank import SORTS
from matcher.report_render.csv_out import table_to_csv_text
from matcher.report_render.tables import Table, Tables
from matcher.report_render.xlsx_out import write_xlsx

from .downloads import content_disposition
from .models import Need, ResearcherPublic, stored_id
from .schemas import MatchOptions, MatchOut, PartnerOut

ExportFormat = Literal["csv", "xlsx"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("csv", "xlsx")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
JST = timezone(timedelta(hours=9))
SCOPE_NAMES = {"all": "すべて", "cross-region": "地域外のみ", "in-region": "地域内のみ"}
LEVEL_NAMES = {"university": "大学ごと", "researcher": "研究者ごと", "seed": "シーズごと"}

PARTNERS_HEADER = ["順位", "連携先", "大学", "都道府県", "地域", "同じ地域か", "距離", "スコア", "内容の近さ（帯）",
                   "最も近いシーズの内容の近さ", "「近い」以上のシーズ数", "実績・体制", "共通する語",
                   "地域外の候補として繰り上げ", "産学連携窓口", "窓口のURL", "窓口のメール", "窓口の電話", "研究者",
                   "一致したシーズ"]


def _where(partner: PartnerOut) -> str:
    if partner.cross_region is None:
        return "不明"
    return "地域外" if partner.cross_region else "同じ地域"


def _researcher(researcher: ResearcherPublic) -> str:
    """A researcher with the contacts this reader may see (the others are absent from the MatchOut)."""
    parts = [researcher.name + (f"（{researcher.department}）" if researcher.department else "")]
    if researcher.contact.email:
        parts.append(researcher.contact.email)
    if researcher.contact.phone:
        parts.append(f"電話 {researcher.contact.phone}")
    return " ".join(parts)


def _researchers(partner: PartnerOut) -> str:
    found = [partner.researcher] if partner.researcher else []
    found += [hit.researcher for hit in partner.seeds if hit.researcher]
    seen: dict[int, str] = {}
    for researcher in found:
        if researcher is not None:
            seen.setdefault(researcher.id, _researcher(researcher))
    return "／".join(seen.values())


def partner_row(rank: int, partner: PartnerOut) -> list[object]:
    contact = partner.contact
    fit = partner.signals.content_fit
    return [rank, partner.name, partner.university, partner.prefecture.name if partner.prefecture else "",
            partner.region or "", _where(partner), partner.distance_label or "", round(partner.score, 4), fit.band,
            round(fit.similarity, 4), fit.close_seeds, partner.signals.track_record.words,
            "、".join(partner.shared_terms), "はい" if partner.promoted_for_cross_region else "",
            contact.office if contact else "", (contact.url or "") if contact else "",
            (contact.email or "") if contact else "", (contact.phone or "") if contact else "",
            _researchers(partner), "／".join(hit.title for hit in partner.seeds)]


def partners_table(match: MatchOut) -> Table:
    return PARTNERS_HEADER, [partner_row(rank, p) for rank, p in enumerate(match.partners, 1)]


def conditions_table(need: Need, options: MatchOptions, match: MatchOut, made_at: datetime) -> Table:
    rows: list[list[object]] = [
        ["ニーズID", stored_id(need)], ["タイトル", need.title], ["並べ替え", SORTS.get(match.sort, match.sort)],
        ["範囲", SCOPE_NAMES.get(match.scope, match.scope)], ["単位", LEVEL_NAMES.get(match.level, match.level)],
        ["候補の数（上限）", options.top_k], ["都道府県", "・".join(options.include_prefectures) or "すべて"],
        ["地域", "・".join(options.include_regions) or "すべて"],
        ["市場領域", "・".join(options.market_areas) or "すべて"],
        ["作成日時（日本時間）", made_at.astimezone(JST).strftime("%Y-%m-%d %H:%M")]]
    return ["項目", "値"], rows


def file_names(need: Need, fmt: ExportFormat, made_at: datetime) -> tuple[str, str]:
    """The Japanese name (e.g. ニーズ12_候補_2026-12-03.csv, the day in Japan time) and its ASCII fallback."""
    day = made_at.astimezone(JST).date().isoformat()
    return f"ニーズ{stored_id(need)}_候補_{day}.{fmt}", f"need{stored_id(need)}_partners_{day}.{fmt}"


def _xlsx_bytes(tables: Tables) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = write_xlsx(tables, Path(tmp) / "partners.xlsx")
        return path.read_bytes()


def export_response(need: Need, options: MatchOptions, match: MatchOut, fmt: ExportFormat,
                    now: datetime | None = None) -> Response:
    """The download of `match` (already computed for the reader) as `fmt`."""
    made_at = now or datetime.now(UTC)
    if fmt == "csv":
        header, rows = partners_table(match)
        body = table_to_csv_text(header, rows).encode("utf-8-sig")
    else:
        body = _xlsx_bytes({"連携先候補": partners_table(match),
                            "条件": conditions_table(need, options, match, made_at)})
    headers = {"Content-Disposition": content_disposition(*file_names(need, fmt, made_at)),
               "Cache-Control": "no-store"}  # it may hold contacts
    return Response(body, media_type=MEDIA_TYPES[fmt], headers=headers)
