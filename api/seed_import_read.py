"""Reading an uploaded シーズ集: CSV (UTF-8 with or without a BOM, or cp932) or XLSX, into numbered rows of text.

The kind of file is told by its bytes, not by its name (an XLSX is a ZIP archive), and a CSV's encoding by
trying, strictly, a BOM, then UTF-8, then cp932: a cp932 file is almost never valid UTF-8, while Japanese
UTF-8 text is rarely valid cp932 as a whole, so the strict order decides. What the file as a whole gets
wrong (its encoding, its header row, its size) is an `ImportFileError` with a Japanese message; what a row
gets wrong is the plan's business (api/seed_import_plan.py).
"""

from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from .seed_import_layout import BY_HEADER, COLUMNS, MAX_FILE_BYTES, MAX_ROWS

XLSX_MAGIC = b"PK\x03\x04"
BOM = b"\xef\xbb\xbf"


class ImportFileError(ValueError):
    """The file cannot be read as a シーズ集 at all; the message is Japanese."""


@dataclass(frozen=True)
class SourceRow:
    number: int  # the row as a spreadsheet numbers it: the header is row 1
    cells: dict[str, str]  # column key → the cell's text, stripped ("" when blank or absent)


def read_table(data: bytes) -> list[SourceRow]:
    """The non-blank data rows of a CSV or XLSX file, keyed by column (api/seed_import_layout.py)."""
    if not data:
        raise ImportFileError("ファイルが空です。")
    if len(data) > MAX_FILE_BYTES:
        raise ImportFileError(f"ファイルが大きすぎます（上限 {MAX_FILE_BYTES // (1024 * 1024)} MB）。"
                              "分けて取り込んでください。")
    records = _xlsx_records(data) if data.startswith(XLSX_MAGIC) else _csv_records(decode_csv(data))
    header = next(records, None)
    if header is None:
        raise ImportFileError("1行目に列名（外部ID、題目 など）がありません。")
    keys = _column_keys(header)
    rows = []
    for number, record in enumerate(records, start=2):
        cells = {key: (record[i] if i < len(record) else "").strip() for i, key in keys.items()}
        if not any(v.strip() for v in record):
            continue  # a blank line, or a row a spreadsheet formatted but left empty
        rows.append(SourceRow(number, cells))
        if len(rows) > MAX_ROWS:
            raise ImportFileError(f"行が多すぎます（1ファイル {MAX_ROWS:,} 行まで）。分けて取り込んでください。")
    if not rows:
        raise ImportFileError("取り込む行がありません（2行目から1行に1件のシーズを書きます）。")
    return rows


def decode_csv(data: bytes) -> str:
    """The text of a CSV file: UTF-8 after a BOM, else strict UTF-8, else cp932."""
    if data.startswith(BOM):
        try:
            return data[len(BOM):].decode("utf-8")
        except UnicodeDecodeError as e:
            at = e.start + len(BOM) + 1
            raise ImportFileError(f"UTF-8（BOM付き）として読めない文字があります（{at}バイト目）。") from e
    for encoding in ("utf-8", "cp932"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFileError("文字コードを判別できません。"
                          "UTF-8（BOMの有無は問いません）か Shift_JIS（cp932）で保存してください。")


def _csv_records(text: str) -> Iterator[list[str]]:
    try:
        yield from csv.reader(io.StringIO(text, newline=""))
    except csv.Error as e:
        raise ImportFileError(f"CSV として読めません（{e}）。") from e


def _xlsx_records(data: bytes) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as e:
        raise ImportFileError("XLSX ファイルとして読めません。"
                              "Excel で「Excel ブック（.xlsx）」として保存してください。") from e
    try:
        sheet = book.worksheets[0]  # the first sheet holds the seeds; the template's 説明 sheet comes second
        for values in sheet.iter_rows(values_only=True):
            yield [_cell_text(v) for v in values]
    finally:
        book.close()


def _cell_text(value: object) -> str:
    """A cell as the office typed it: an integral number without ".0" (Excel stores 123 as 123.0)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _column_keys(header: list[str]) -> dict[int, str]:
    """Column position → key, from the header row; unknown, repeated or missing required headers refused."""
    keys: dict[int, str] = {}
    unknown = []
    for i, raw in enumerate(header):
        name = unicodedata.normalize("NFKC", raw).strip().lstrip("\ufeff")
        if not name:
            continue
        column = BY_HEADER.get(name)
        if column is None:
            unknown.append(raw.strip())
        elif column.key in keys.values():
            raise ImportFileError(f"列「{column.header}」が2回あります。1回にしてください。")
        else:
            keys[i] = column.key
    if unknown:
        known = "、".join(c.header for c in COLUMNS)
        raise ImportFileError(f"知らない列名があります: {'、'.join(unknown)}。使える列名は {known} です。")
    missing = [c.header for c in COLUMNS if c.required and c.key not in keys.values()]
    if missing:
        raise ImportFileError(f"必須の列がありません: {'、'.join(missing)}。ひな形の1行目をお使いください。")
    return keys
