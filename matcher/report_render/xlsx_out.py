"""XLSX via openpyxl: one sheet per table, text cells neutralised as in CSV and stored as strings."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .neutralise import neutralise
from .outcomes import TITLE as OUTCOMES_TITLE
from .tables import Tables

SHEET_NAMES = {
    "summary": "概要", "needs": "ニーズ別", "flow_counts": "地域間の流れ（件数）", "flow_best": "地域間の流れ（最良）",
    "flow_weighted": "地域間の流れ（スコア）", "by_region": "地域別", "by_market_area": "市場領域別",
    "by_prefecture": "都道府県別", "universities": "大学別", "assignment": "上限付き割り当て",
    "assignment_pairs": "割り当て一覧", "concentration": "最良の連携先の集中",
    "outcomes": OUTCOMES_TITLE,
}


def write_xlsx(tables: Tables, path: Path) -> Path:
    from openpyxl import Workbook
    from openpyxl.cell.cell import TYPE_STRING
    from openpyxl.styles import Font

    wb = Workbook()
    for sheet in wb.worksheets:  # the empty sheet a new workbook starts with
        wb.remove(sheet)
    for name, (header, rows) in tables.items():
        ws = wb.create_sheet(SHEET_NAMES.get(name, name)[:31])
        lines: list[Sequence[object]] = [header, *rows]
        for r, row in enumerate(lines, 1):
            for c, raw in enumerate(row, 1):
                cell = ws.cell(row=r, column=c)
                value = neutralise(raw)
                cell.value = value
                if isinstance(value, str):
                    cell.data_type = TYPE_STRING  # never a formula, even if it began with "="
                if r == 1:
                    cell.font = Font(bold=True)
        ws.freeze_panes = "A2"
        for c, _ in enumerate(header, 1):
            ws.column_dimensions[ws.cell(row=1, column=c).column_letter].width = 18
    wb.save(path)
    return Path(path)
