"""Rendering a computed `matcher.reports.Report`: CSV, XLSX, JSON, self-contained HTML (inline SVG), PDF.

    paths = render_report(report, out_dir, formats=("html", "csv"), csv_encoding="utf-8-sig")
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

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
        raise InvalidInputError(f"出力形式は {', '.join(FORMATS)} から選んでください（指定: {', '.join(bad) or 'なし'}）。")
    return list(dict.fromkeys(items))


def render_report(report, out_dir: Path, formats: Iterable[str] = FORMATS, *, csv_encoding: str = "utf-8-sig",
                  progress: Callable[[str, int, int], None] | None = None) -> RenderResult:
    from .tables import report_tables

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    formats = parse_formats(list(formats))
    progress = progress or (lambda stage, done, total: None)
    result = RenderResult()
    tables = report_tables(report)
    html = None
    for done, fmt in enumerate(formats):
        progress("ファイルを出力", done, len(formats))
        if fmt == "json":
            path = out_dir / "report.json"
            path.write_text(json.dumps(report.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
            result.files.append(path)
        elif fmt == "csv":
            from .csv_out import write_csv_tables

            files, replaced = write_csv_tables(tables, out_dir, encoding=csv_encoding)
            result.files.extend(files)
            result.replaced_chars += replaced
        elif fmt == "xlsx":
            from .xlsx_out import write_xlsx

            result.files.append(write_xlsx(tables, out_dir / "report.xlsx"))
        elif fmt in ("html", "pdf"):
            from .html_out import render_html

            html = html or render_html(report)
            if fmt == "html":
                path = out_dir / "report.html"
                path.write_text(html, encoding="utf-8")
            else:
                from .pdf_out import write_pdf

                path = write_pdf(render_html(report, for_print=True), out_dir / "report.pdf")
            result.files.append(path)
    progress("ファイルを出力", len(formats), len(formats))
    return result
