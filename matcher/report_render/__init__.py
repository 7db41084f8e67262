"""Rendering a computed `matcher.reports.Report`: CSV, XLSX, JSON, self-contained HTML (inline SVG), PDF.

    paths = render_report(report, out_dir, formats=("html", "csv"), csv_encoding="utf-8-sig")
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matcher.reports import Progress, Report

    from .tables import Tables

FORMATS = ("html", "xlsx", "csv", "pdf", "json")


@dataclass
class RenderResult:
    files: list[Path] = field(default_factory=list)
    replaced_chars: int = 0  # characters cp932 could not hold (CSV in cp932 only)


def parse_formats(value: str | Iterable[str]) -> list[str]:
    from matcher.errors import InvalidInputError

    items = [v.strip().lower() for v in (value.split(",") if isinstance(value, str) else value) if v.strip()]
    bad = [v for v in items if v not in FORMATS]
    if bad or not items:
        raise InvalidInputError(
            f"出力形式は {', '.join(FORMATS)} から選んでください（指定: {', '.join(bad) or 'なし'}）。")
    return list(dict.fromkeys(items))


def render_report(report: Report, out_dir: Path, formats: Iterable[str] = FORMATS, *, csv_encoding: str = "utf-8-sig",
                  progress: Progress | None = None) -> RenderResult:
    from .tables import report_tables

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    wanted = parse_formats(list(formats))
    result = RenderResult()
    tables = report_tables(report)
    for done, fmt in enumerate(wanted):
        if progress:
            progress("ファイルを出力", done, len(wanted))
        if fmt == "csv":
            from .csv_out import write_csv_tables

            files, result.replaced_chars = write_csv_tables(tables, out_dir, encoding=csv_encoding)
            result.files.extend(files)
        else:
            result.files.append(_write_one(fmt, report, tables, out_dir))
    if progress:
        progress("ファイルを出力", len(wanted), len(wanted))
    return result


def _write_one(fmt: str, report: Report, tables: Tables, out_dir: Path) -> Path:
    """The one file of a format other than CSV."""
    if fmt == "json":
        path = out_dir / "report.json"
        path.write_text(json.dumps(report.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
        return path
    if fmt == "xlsx":
        from .xlsx_out import write_xlsx

        return write_xlsx(tables, out_dir / "report.xlsx")
    from .html_out import render_html

    if fmt == "html":
        path = out_dir / "report.html"
        path.write_text(render_html(report), encoding="utf-8")
        return path
    from .pdf_out import write_pdf

    return write_pdf(render_html(report, for_print=True), out_dir / "report.pdf")
