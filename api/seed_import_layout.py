"""The column layout of a シーズ集 (a university's seed list) for the bulk import, and its downloadable templates.

One source for the reader (api/seed_import_read.py), the checks (api/seed_import_plan.py), the page's
explanation (seed_import.html) and the templates, so the documented layout and the accepted one cannot drift.
Headers are the Japanese words a liaison office writes; the first row of the file names the columns, in any order.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.styles import Font

from .limits import EXTERNAL_ID_MAX_CHARS, KEYWORD_MAX_CHARS, KEYWORDS_MAX, TEXT_MAX_CHARS, TITLE_MAX_CHARS
from .models import Readiness, SeedVisibility

# a list in one cell: the Japanese comma (、), a comma (half or full width), a semicolon (half or full width)
LIST_SEPARATORS = ("、", ",", "，", ";", "；")
MAX_ROWS = 20_000  # data rows in one file: 2× the benchmarked 10^4
MAX_FILE_BYTES = 32 * 1024 * 1024  # 10^4 rows of demo-length seeds are about 10 MB as CSV

# how a 公開範囲 cell may be written: the page's words, shorter ones, and the API's values
VISIBILITY_WORDS = {
    "公開": SeedVisibility.public, "public": SeedVisibility.public,
    "ログイン利用者に公開": SeedVisibility.registered, "登録利用者のみ": SeedVisibility.registered,
    "registered": SeedVisibility.registered,
    "下書き": SeedVisibility.private, "非公開": SeedVisibility.private, "private": SeedVisibility.private,
}
VISIBILITY_HEADER_WORDS = {SeedVisibility.public: "公開", SeedVisibility.registered: "ログイン利用者に公開",
                           SeedVisibility.private: "下書き"}


@dataclass(frozen=True)
class Column:
    key: str  # the seed field (or `external_id`, `researcher`) the column fills
    header: str  # the Japanese header, as the file's first row writes it
    required: bool
    explanation: str  # shown on the page and in the XLSX template's 説明 sheet


COLUMNS: tuple[Column, ...] = (
    Column("external_id", "外部ID", True,
           f"大学のシーズ集での番号など、大学の中で重複しない ID（{EXTERNAL_ID_MAX_CHARS}文字以内）。"
           "同じ外部IDの行をもう一度取り込むと、そのシーズを更新します（新しく作りません）。"),
    Column("title", "題目", True, f"シーズの題目（{TITLE_MAX_CHARS}文字以内、改行なし）。"),
    Column("summary", "概要", False, f"研究の概要（{TEXT_MAX_CHARS:,}文字以内、改行可）。"),
    Column("keywords", "キーワード", False,
           f"読点（、）・カンマ（,）・セミコロン（;）で区切る（{KEYWORDS_MAX}個まで、1つ{KEYWORD_MAX_CHARS}文字以内）。"),
    Column("market_areas", "市場領域", False, "M1〜M9 のコード。複数はキーワードと同じ区切りで。"),
    Column("readiness", "成熟度", False, "、".join(r.value for r in Readiness) + " のどれか。空欄可。"),
    Column("visibility", "公開範囲", False,
           "公開・ログイン利用者に公開・下書き のどれか（空欄は公開）。下書きは照合の対象になりません。"),
    Column("researcher", "研究者", True,
           "研究者ID（数字）か、登録済みの研究者のメールアドレス。取り込む大学に所属する研究者に限ります。"),
)
BY_HEADER = {c.header: c for c in COLUMNS}
HEADER_OF = {c.key: c.header for c in COLUMNS}
EXAMPLE_ROW = ("S-2026-001", "もみ殻ガス化による地域熱供給",
               "稲わらやもみ殻をガス化し、農業用ハウスの熱源として使う小型装置を開発しています。",
               "バイオマス、ガス化、熱供給", "M3", Readiness.demonstration.value, "公開", "researcher@example.ac.jp")


def split_list(cell: str) -> list[str]:
    """The items of a list cell, in order, empty items dropped."""
    items = [cell]
    for separator in LIST_SEPARATORS:
        items = [piece for item in items for piece in item.split(separator)]
    return [item.strip() for item in items if item.strip()]


def template_csv() -> bytes:
    """The CSV template: UTF-8 with a BOM (Excel opens it as UTF-8), the header row and one example row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.header for c in COLUMNS])
    writer.writerow(EXAMPLE_ROW)
    return out.getvalue().encode("utf-8-sig")


def template_xlsx() -> bytes:
    """The XLSX template: a シーズ sheet (the header row and one example row) and a 説明 sheet (the layout)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has its one sheet
    sheet.title = "シーズ"
    sheet.append([c.header for c in COLUMNS])
    sheet.append(list(EXAMPLE_ROW))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    notes = book.create_sheet("説明")
    notes.append(["列", "必須", "書き方"])
    for column in COLUMNS:
        notes.append([column.header, "必須" if column.required else "", column.explanation])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
