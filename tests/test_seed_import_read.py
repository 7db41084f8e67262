"""Reading a シーズ集 (api/seed_import_read.py): encodings told apart, XLSX, headers, blank rows, limits."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook, load_workbook

from api.seed_import_layout import COLUMNS, EXAMPLE_ROW, split_list, template_csv, template_xlsx
from api.seed_import_read import ImportFileError, decode_csv, read_table

HEADER = "外部ID,題目,概要,キーワード,市場領域,成熟度,公開範囲,研究者"
ROW = "S-1,雪室で野菜を熟成する,雪の冷気で低温を保ち、甘みを増す。,\"雪室、熟成\",M3,実証段階,公開,12"


def csv_bytes(encoding: str, *lines: str) -> bytes:
    return "\r\n".join((HEADER, *lines)).encode(encoding)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_utf8_with_and_without_bom_and_cp932_read_the_same(encoding):
    rows = read_table(csv_bytes(encoding, ROW))
    assert len(rows) == 1
    assert rows[0].number == 2
    assert rows[0].cells["external_id"] == "S-1"  # a BOM left in would have spoilt the first header
    assert rows[0].cells["title"] == "雪室で野菜を熟成する"
    assert rows[0].cells["keywords"] == "雪室、熟成"
    assert rows[0].cells["researcher"] == "12"


def test_cp932_is_not_mistaken_for_utf8_and_utf8_not_for_cp932():
    text = "題目,雪室"
    assert decode_csv(text.encode("cp932")) == text
    assert decode_csv(text.encode("utf-8")) == text


def test_an_undecodable_file_is_refused_in_japanese():
    with pytest.raises(ImportFileError, match="文字コードを判別できません"):
        read_table(b"\x81\x00\xff\xfe\x80" * 3)
    with pytest.raises(ImportFileError, match="BOM付き"):
        read_table(b"\xef\xbb\xbf" + "外部ID".encode() + b"\xff")


def test_quoted_line_breaks_stay_in_their_cell_and_rows_keep_their_numbers():
    rows = read_table(csv_bytes("utf-8", "S-1,題,\"1行目\n2行目\",,,,,1", ",,,,,,,", "S-2,題2,,,,,,1"))
    assert [r.number for r in rows] == [2, 4]  # the blank row 3 is skipped, the numbering is not
    assert rows[0].cells["summary"] == "1行目\n2行目"


def test_columns_in_any_order_and_optional_ones_left_out():
    rows = read_table("研究者,題目,外部ID\r\n5,題,E-9\r\n".encode())
    assert rows[0].cells == {"researcher": "5", "title": "題", "external_id": "E-9"}


def test_full_width_headers_are_read_as_their_half_width_form():
    assert read_table("外部ＩＤ,題目,研究者\r\nA,B,1".encode())[0].cells["external_id"] == "A"


@pytest.mark.parametrize(("header", "message"), [
    ("外部ID,題目", "必須の列がありません: 研究者"),
    ("外部ID,題目,研究者,備考", "知らない列名があります: 備考"),
    ("外部ID,題目,研究者,題目", "列「題目」が2回あります"),
])
def test_a_bad_header_row_is_refused_with_the_columns_named(header, message):
    with pytest.raises(ImportFileError, match=message):
        read_table(f"{header}\r\nA,B,1,x".encode())


def test_an_empty_file_or_one_without_rows_is_refused():
    with pytest.raises(ImportFileError, match="空"):
        read_table(b"")
    with pytest.raises(ImportFileError, match="取り込む行がありません"):
        read_table(HEADER.encode() + b"\r\n,,,,,,,\r\n")


def test_too_many_rows_are_refused(monkeypatch):
    monkeypatch.setattr("api.seed_import_read.MAX_ROWS", 3)
    with pytest.raises(ImportFileError, match="行が多すぎます"):
        read_table(csv_bytes("utf-8", *[ROW.replace("S-1", f"S-{i}") for i in range(4)]))


def xlsx_of(*rows: list[object]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_xlsx_is_read_from_its_first_sheet_with_numbers_as_typed():
    data = xlsx_of(HEADER.split(","), ["S-1", "題", None, "a;b", "M1", None, "下書き", 12.0], [None] * 8,
                   [101, "題2", "概要", None, None, None, None, "x@example.ac.jp"])
    rows = read_table(data)
    assert [r.number for r in rows] == [2, 4]
    assert rows[0].cells["researcher"] == "12"  # Excel's 12.0, as the office typed it
    assert rows[0].cells["summary"] == ""
    assert rows[1].cells["external_id"] == "101"


def test_a_zip_that_is_not_a_workbook_is_refused():
    with pytest.raises(ImportFileError, match="XLSX"):
        read_table(b"PK\x03\x04" + b"\x00" * 40)


def test_the_templates_read_back_as_their_example_row():
    for data in (template_csv(), template_xlsx()):
        rows = read_table(data)
        assert len(rows) == 1
        assert [rows[0].cells[c.key] for c in COLUMNS] == list(EXAMPLE_ROW)
    assert template_csv().startswith(b"\xef\xbb\xbf")
    notes = load_workbook(io.BytesIO(template_xlsx())).worksheets[1]
    assert [c.value for c in notes[1]] == ["列", "必須", "書き方"]
    assert notes.max_row == len(COLUMNS) + 1


def test_list_cells_split_on_every_documented_separator():
    assert split_list("雪室、熟成,低温，甘み;冷気；保存 ,, ") == ["雪室", "熟成", "低温", "甘み", "冷気", "保存"]
