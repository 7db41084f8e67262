"""CSV: one file per table.

Encoding: UTF-8 with BOM (`utf-8-sig`, Excel opens it as UTF-8) by default.
With `cp932` (Shift_JIS as Windows writes it), a character cp932 cannot hold
(e.g. 𠮷, 髙 is fine, emoji are not) is replaced by 〓 (U+3013, the geta mark
Japanese typesetting uses for a missing glyph) and counted; the count is
returned so the caller can say how many were replaced. Nothing fails silently.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

from .neutralise import neutralise
from .tables import Tables

REPLACEMENT = "〓"
ENCODINGS = ("utf-8-sig", "utf-8", "cp932")


def encode_cp932(text: str) -> tuple[bytes, int]:
    """(bytes, number of characters replaced by 〓)."""
    out = bytearray()
    replaced = 0
    for ch in text:
        try:
            out += ch.encode("cp932")
        except UnicodeEncodeError:
            out += REPLACEMENT.encode("cp932")
            replaced += 1
    return bytes(out), replaced


def table_to_csv_text(header: Sequence[object], rows: Iterable[Sequence[object]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in header])
    for row in rows:
        writer.writerow([neutralise(v) for v in row])
    return buf.getvalue()


def write_csv_tables(tables: Tables, out_dir: Path, encoding: str = "utf-8-sig") -> tuple[list[Path], int]:
    if encoding.lower().replace("_", "-") in ("shift-jis", "sjis", "windows-31j", "ms932"):
        encoding = "cp932"
    if encoding not in ENCODINGS:
        from matcher.errors import InvalidInputError

        raise InvalidInputError(f"CSVの文字コードは {', '.join(ENCODINGS)} のいずれかです。")
    files, replaced = [], 0
    for name, (header, rows) in tables.items():
        text = table_to_csv_text(header, rows)
        path = Path(out_dir) / f"{name}.csv"
        if encoding == "cp932":
            data, count = encode_cp932(text)
            replaced += count
        else:
            data = text.encode(encoding)
        path.write_bytes(data)
        files.append(path)
    return files, replaced
