"""Issue 15: one need's partners as CSV (UTF-8 with BOM) and XLSX: the same partners in the same order as the
match for the same options, named after the need and the day, and with a researcher's contacts only where the
reader may see them (api/access.may_see_contact)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest
from openpyxl import load_workbook

API = "/api/v1"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TAKADA_MAIL = "takada-export@example.ac.jp"


def today_jst() -> str:
    return datetime.now(timezone(timedelta(hours=9))).date().isoformat()


def csv_rows(response) -> list[list[str]]:
    assert response.content.startswith(b"\xef\xbb\xbf")  # the BOM: Excel opens it as UTF-8
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def export(client, headers, need_id: int, fmt: str, options: dict):
    response = client.post(f"{API}/needs/{need_id}/matches/export", headers=headers, params={"format": fmt},
                           json=options)
    assert response.status_code == 200, response.text
    return response


def matched_names(client, headers, need_id: int, options: dict) -> list[str]:
    response = client.post(f"{API}/needs/{need_id}/matches", headers=headers, json=options)
    assert response.status_code == 200, response.text
    return [p["name"] for p in response.json()["partners"]]


@pytest.mark.parametrize("options", [{}, {"level": "researcher", "top_k": 20}, {"scope": "cross-region"},
                                     {"sort": "content", "top_k": 50}, {"include_prefectures": ["新潟県"]}])
def test_the_csv_lists_the_match_in_its_order(client, actors, options):
    rows = csv_rows(export(client, actors.poster, 901, "csv", options))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["順位", "連携先", "大学"]
    assert [r[1] for r in body] == matched_names(client, actors.poster, 901, options)
    assert [r[0] for r in body] == [str(i) for i in range(1, len(body) + 1)]
    if options.get("include_prefectures"):
        assert body and {r[3] for r in body} == {"新潟県"}


def test_the_xlsx_lists_the_same_and_its_conditions(client, actors):
    options = {"level": "researcher", "top_k": 15, "include_regions": ["中部"]}
    response = export(client, actors.poster, 901, "xlsx", options)
    assert response.headers["content-type"] == XLSX
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["連携先候補", "条件"]
    names = [row[1] for row in book["連携先候補"].iter_rows(min_row=2, values_only=True)]
    assert names == matched_names(client, actors.poster, 901, options)
    conditions = dict(book["条件"].iter_rows(min_row=2, values_only=True))
    assert (conditions["ニーズID"], conditions["単位"], conditions["地域"], conditions["候補の数（上限）"]) == (
        901, "研究者ごと", "中部", 15)


def test_the_file_is_named_after_the_need_and_the_day(client, actors):
    for fmt in ("csv", "xlsx"):
        disposition = export(client, actors.poster, 901, fmt, {}).headers["content-disposition"]
        name = f"ニーズ901_候補_{today_jst()}.{fmt}"
        assert disposition == (f'attachment; filename="need901_partners_{today_jst()}.{fmt}"; '
                               f"filename*=UTF-8''{quote(name)}")


def test_contacts_follow_the_reader_as_on_the_page(client, actors):
    """高田 誠 (golden seed 1, the first partner of need 901) keeps his e-mail private: his own export and an
    admin's hold it, a poster's does not; made visible to signed-in users, the poster's holds it too."""
    me = f"{API}/researchers/{actors.researcher_id}"
    assert client.patch(me, headers=actors.researcher, json={"email": TAKADA_MAIL,
                                                             "email_visibility": "private"}).status_code == 200
    options = {"level": "researcher", "top_k": 10}
    seen = {who: TAKADA_MAIL in export(client, getattr(actors, who), 901, "csv", options).content.decode("utf-8-sig")
            for who in ("poster", "coordinator", "researcher", "admin")}
    assert seen == {"poster": False, "coordinator": False, "researcher": True, "admin": True}
    client.patch(me, headers=actors.researcher, json={"email_visibility": "registered"})
    try:
        assert TAKADA_MAIL in export(client, actors.poster, 901, "csv", options).content.decode("utf-8-sig")
    finally:
        client.patch(me, headers=actors.researcher, json={"email_visibility": "private"})


def test_bad_options_and_formats_are_refused_in_japanese(client, actors):
    bad_format = client.post(f"{API}/needs/901/matches/export", headers=actors.poster, params={"format": "pdf"})
    assert bad_format.status_code == 422
    assert bad_format.json()["error"]["details"][0]["field"] == "query.format"
    bad_option = client.post(f"{API}/needs/901/matches/export", headers=actors.poster, json={"top_k": 51})
    assert bad_option.status_code == 422
    assert "50以下" in bad_option.json()["error"]["details"][0]["message"]
    hidden = client.post(f"{API}/needs/905/matches/export", headers=actors.poster)  # another's confidential need
    assert hidden.status_code == 404 and hidden.json()["error"]["message"] == "ニーズ（ID: 905）が見つかりません。"


def test_cells_a_spreadsheet_would_run_are_neutralised(client, actors):
    """A seed's title is the researcher's text: in the files it stays text, never a formula."""
    title = "=HYPERLINK(\"http://example.invalid\") 稲わらともみ殻のガス化"
    seed = client.post(f"{API}/seeds", headers=actors.researcher, json={
        "title": title, "summary": "稲わらともみ殻をガス化し、農業用ハウスの熱源にする。",
        "keywords": ["稲わら", "もみ殻"]})
    assert seed.status_code == 201, seed.text
    try:
        options = {"level": "seed", "top_k": 50}
        rows = csv_rows(export(client, actors.poster, 901, "csv", options))[1:]
        assert f"'{title}" in [r[1] for r in rows]
        book = load_workbook(io.BytesIO(export(client, actors.poster, 901, "xlsx", options).content))
        cells = [row[1] for row in book["連携先候補"].iter_rows(min_row=2)]
        found = [c for c in cells if c.value == f"'{title}"]
        assert found and found[0].data_type == "s"
    finally:
        client.delete(f"{API}/seeds/{seed.json()['id']}", headers=actors.researcher)
