"""The need form's municipality (issue 13, part 5): choices for the chosen prefecture, a Japanese error beside
the field that keeps what was typed, and the distance in words on the results page."""

from __future__ import annotations

from .conftest import sign_in

NEED = {"title": "稲わらともみ殻をガス化して農業ハウスの熱源にしたい",
        "description": "稲わらともみ殻をガス化し、冬の農業ハウスの熱源に使いたい。", "visibility": "public"}


def test_the_form_offers_the_prefecture_s_municipalities(page_client, page_actors):
    sign_in(page_client, page_actors.poster)
    assert 'list="municipality-list"' in page_client.get("/needs/new").text
    options = page_client.get("/needs/municipalities", params={"prefecture_code": "01"}).text
    assert '<option value="帯広市">' in options and '<option value="札幌市 北区">' in options
    assert "鶴岡市" not in options
    assert "<option" not in page_client.get("/needs/municipalities").text  # no prefecture chosen yet


def test_a_municipality_outside_the_prefecture_is_shown_beside_the_field(page_client, page_actors):
    csrf = sign_in(page_client, page_actors.poster)
    response = page_client.post("/needs/new", data={**NEED, "csrf": csrf, "prefecture_code": "06",
                                                    "municipality_code": "帯広市"})
    assert response.status_code == 422
    assert "山形県の市区町村「帯広市」が見つかりません" in response.text
    assert 'value="帯広市"' in response.text and "鶴岡市" in response.text  # kept, and 山形県's choices offered


def test_the_results_page_measures_from_the_need_s_municipality(page_client, page_actors):
    csrf = sign_in(page_client, page_actors.poster)
    created = page_client.post("/needs/new", data={**NEED, "csrf": csrf, "prefecture_code": "15",
                                                   "municipality_code": "長岡市"})
    assert created.status_code == 200, created.text
    assert "約0 km" in created.text  # 長岡技術科学大学 is in 長岡市 itself
    assert "同じ県内" not in created.text  # every partner in 新潟県 is measured from 長岡市
