"""What a report's files are called when they are downloaded: the report's scope and date, in Japanese.

On disk and in every URL a job's files keep their plain names (report.xlsx, needs.csv, …: the links on the pages
and the API's file list stay as they were); the download is named after the job, for example
「連携レポート_北海道・東北_2026-12-03.xlsx」 or 「連携レポート_全国_2026-12-03_ニーズ別.csv」, with an ASCII
fallback (report12_2026-12-03_needs.csv) for clients that cannot read RFC 5987 `filename*`.
The scope words come from the job's parameters (regions, prefectures, market areas, period; 全国 when none),
the date is the day in Japan the job was made.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import PurePath
from typing import Any

from matcher.jst import jst_day
from matcher.regions import default_prefectures
from matcher.report_render.xlsx_out import SHEET_NAMES

from .downloads import content_disposition

TITLE = "連携レポート"
NATIONWIDE = "全国"
LISTED = 3  # items of a kind named in a file name; more are counted (「新潟県・長野県・富山県ほか2件」)
UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')  # characters a file system or a header would not take


def _listed(items: list[str]) -> str:
    if len(items) <= LISTED:
        return "・".join(items)
    return "・".join(items[:LISTED]) + f"ほか{len(items) - LISTED}件"


def _prefecture_name(code_or_name: str) -> str:
    try:
        return default_prefectures().get(code_or_name).name
    except (KeyError, ValueError, AttributeError):
        return code_or_name


def scope_words(params: dict[str, Any]) -> str:
    """The job's scope for a file name: 「北海道・東北」, 「中部_M3」, 「全国_2025-04-01〜2026-04-01」, or 「全国」."""
    parts = []
    if params.get("regions"):
        parts.append(_listed(list(params["regions"])))
    if params.get("prefectures"):
        parts.append(_listed([_prefecture_name(p) for p in params["prefectures"]]))
    if params.get("market_areas"):
        parts.append(_listed(list(params["market_areas"])))
    if not parts:
        parts.append(NATIONWIDE)
    if params.get("since") or params.get("until"):
        parts.append(f"{params.get('since') or ''}〜{params.get('until') or ''}")
    return UNSAFE.sub("_", "_".join(parts))


def download_names(job_id: int, params: dict[str, Any], made_at: datetime, name: str) -> tuple[str, str]:
    """(the Japanese download name, its ASCII fallback) of the job's file `name`."""
    path = PurePath(name)
    day = jst_day(made_at)
    table = "" if path.stem == "report" else path.stem  # needs.csv → the table's name, as the XLSX sheet
    label = f"_{SHEET_NAMES.get(table, table)}" if table else ""
    ascii_table = f"_{table}" if table.isascii() and table else ""
    return (f"{TITLE}_{scope_words(params)}_{day}{label}{path.suffix}",
            f"report{job_id}_{day}{ascii_table}{path.suffix}")


def disposition_header(job_id: int, params: dict[str, Any], made_at: datetime, name: str, disposition: str) -> str:
    return content_disposition(*download_names(job_id, params, made_at, name), disposition=disposition)
