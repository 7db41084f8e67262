"""Issue 15: the list of needs, searched and filtered in SQL (SQLite and PostgreSQL), newest first, with paging.

Each test posts its own needs with a unique marker word, so the keyword narrows the list to them and the other
filters are checked on a known set; the dates are set on the stored rows (times in UTC, days read in Japan time).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlmodel import Session

from api import models as m
from api.need_search import DATE_FORMAT, DATES_BACKWARDS

API = "/api/v1"


def post(client, headers, title: str, description: str, prefecture: str = "15", **extra) -> int:
    response = client.post(f"{API}/needs", headers=headers, json={"title": title, "description": description,
                                                                 "prefecture_code": prefecture, **extra})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def ids(client, headers, **params) -> list[int]:
    response = client.get(f"{API}/needs", headers=headers, params={"limit": 200, **params})
    assert response.status_code == 200, response.text
    return [n["id"] for n in response.json()["items"]]


def set_created(client, need_id: int, moment: datetime) -> None:
    with Session(client.app.state.db) as session:
        need = session.get_one(m.Need, need_id)
        need.created_at = moment
        session.add(need)
        session.commit()


@pytest.fixture(scope="module")
def posted(client, actors) -> dict:
    """Five needs with one marker: by a municipality (テスト市) and a company (テスト精工), in three prefectures."""
    mark = "検索印" + uuid.uuid4().hex[:6]
    city, company = actors.poster, actors.other_poster
    made = {
        "rice": post(client, city, f"稲わらの活用 {mark}", "もみ殻と稲わらを熱源にしたい。", "15", market_areas=["M4"]),
        "oyster": post(client, company, f"カキの養殖 {mark}", "養殖カキの成長を早めたい。", "34", market_areas=["M3"]),
        "house": post(client, city, f"町家の耐震 {mark}", "伝統構法の町家を地震に備えたい。100%の保存。", "15"),
        "seaweed": post(client, company, f"海藻の陸上養殖 {mark}", "もずくを水槽で育てたい。", "47",
                        market_areas=["M3", "M4"]),
        "secret": post(client, company, f"非公開の開発 {mark}", "発酵で原料を作りたい。", "34",
                       visibility="confidential"),
    }
    # 2026-03-01 23:30 JST is 14:30 UTC of the same day; 2026-03-02 00:30 JST is 15:30 UTC of 03-01
    set_created(client, made["rice"], datetime(2026, 3, 1, 14, 30, tzinfo=UTC))
    set_created(client, made["oyster"], datetime(2026, 3, 1, 15, 30, tzinfo=UTC))
    set_created(client, made["house"], datetime(2026, 2, 10, 3, 0, tzinfo=UTC))
    set_created(client, made["seaweed"], datetime(2026, 4, 5, 3, 0, tzinfo=UTC))
    set_created(client, made["secret"], datetime(2026, 4, 6, 3, 0, tzinfo=UTC))
    return {"mark": mark, **made}


def test_newest_first_and_paging_without_overlap(client, actors, posted):
    found = ids(client, actors.coordinator, q=posted["mark"])
    assert found == [posted[k] for k in ("secret", "seaweed", "oyster", "rice", "house")]
    pages = [client.get(f"{API}/needs", headers=actors.coordinator,
                        params={"q": posted["mark"], "limit": 2, "offset": offset}).json() for offset in (0, 2, 4)]
    assert [p["total"] for p in pages] == [5, 5, 5]
    assert [n["id"] for p in pages for n in p["items"]] == found


def test_the_whole_list_is_newest_first(client, actors, posted):
    items = client.get(f"{API}/needs", headers=actors.admin, params={"limit": 200}).json()["items"]
    keys = [(datetime.fromisoformat(n["created_at"]), n["id"]) for n in items]
    assert keys == sorted(keys, reverse=True)


def test_every_word_must_appear_in_the_title_or_the_text(client, actors, posted):
    mark = posted["mark"]
    assert ids(client, actors.coordinator, q=f"{mark} 養殖") == [posted["seaweed"], posted["oyster"]]
    assert ids(client, actors.coordinator, q=f"{mark}\u3000もずく") == [posted["seaweed"]]  # a full-width space
    assert ids(client, actors.coordinator, q=f"{mark} 稲わら もずく") == []
    # % and _ are the characters typed, not LIKE's wildcards
    assert ids(client, actors.coordinator, q=f"{mark} 100%") == [posted["house"]]
    assert ids(client, actors.coordinator, q=f"{mark} 1_0") == []


def test_filters_narrow_the_list(client, actors, posted):
    mark, who = posted["mark"], actors.coordinator
    assert ids(client, who, q=mark, prefecture="15") == [posted["rice"], posted["house"]]
    assert ids(client, who, q=mark, prefecture="新潟県") == [posted["rice"], posted["house"]]
    assert ids(client, who, q=mark, region="中国") == [posted["secret"], posted["oyster"]]
    assert ids(client, who, q=mark, region="九州") == [posted["seaweed"]]
    assert ids(client, who, q=mark, market_area="M3") == [posted["seaweed"], posted["oyster"]]
    assert ids(client, who, q=mark, market_area="M4") == [posted["seaweed"], posted["rice"]]
    assert ids(client, who, q=mark, poster_kind="municipality") == [posted["rice"], posted["house"]]
    assert ids(client, who, q=mark, poster_kind="company") == [posted["secret"], posted["seaweed"], posted["oyster"]]
    assert ids(client, who, q=mark, poster_kind="company", market_area="M3", region="中国") == [posted["oyster"]]


def test_dates_are_days_in_japan(client, actors, posted):
    mark, who = posted["mark"], actors.coordinator
    assert ids(client, who, q=mark, posted_from="2026-03-01", posted_to="2026-03-01") == [posted["rice"]]
    assert ids(client, who, q=mark, posted_from="2026-03-02", posted_to="2026-03-02") == [posted["oyster"]]
    assert ids(client, who, q=mark, posted_to="2026-02-28") == [posted["house"]]
    assert ids(client, who, q=mark, posted_from="2026-04-01") == [posted["secret"], posted["seaweed"]]


def test_the_search_keeps_to_what_the_reader_may_read(client, actors, posted):
    mark = posted["mark"]
    assert posted["secret"] not in ids(client, actors.poster, q=mark)  # another poster's confidential need
    assert posted["secret"] in ids(client, actors.other_poster, q=mark)  # its own
    assert ids(client, actors.poster, q=mark, mine=True) == [posted["rice"], posted["house"]]


@pytest.mark.parametrize(("params", "field", "message"), [
    ({"prefecture": "火星"}, "prefecture", "火星"),
    ({"region": "関西"}, "region", "次のいずれかを指定してください"),
    ({"market_area": "M10"}, "market_area", "次のいずれかを指定してください"),
    ({"poster_kind": "alien"}, "poster_kind", "次のいずれかを指定してください"),
    ({"posted_from": "2026/13/01"}, "posted_from", DATE_FORMAT),
    ({"posted_from": "1800-01-01"}, "posted_from", "2000-01-01 から"),
    ({"posted_from": "2026-03-02", "posted_to": "2026-03-01"}, "posted_to", DATES_BACKWARDS),
    ({"q": "あ" * 201}, "q", "200文字以内"),
    ({"q": "稲わら\x00"}, "q", "制御文字"),
    ({"q": " ".join(["語"] * 11)}, "q", "10語まで"),
])
def test_bad_values_get_a_japanese_422(client, actors, params, field, message):
    response = client.get(f"{API}/needs", headers=actors.poster, params=params)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert any(d["field"] == f"query.{field}" and message in d["message"] for d in error["details"]), error


def test_empty_values_mean_no_filter(client, actors, posted):
    empty = {"q": "", "prefecture": "", "region": "", "market_area": "", "poster_kind": "", "posted_from": "",
             "posted_to": ""}
    assert ids(client, actors.coordinator, **empty) == ids(client, actors.coordinator)
