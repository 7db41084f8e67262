"""Scores in words on the result pages (issue 13, parts 2–4): bands with their rule, the best seed's
closeness, the seeds' floor, the gain from crossing regions in a sentence, shared terms in the need's own
words, the help page, and the API's field descriptions."""

from __future__ import annotations

import re

import pytest

from api.web.explanations import band_rows, band_rule, gain_sentence, seed_floor_note

from .conftest import sign_in

CARD = re.compile(r'<article class="partner".*?</article>', re.S)


def cards(html: str) -> list[str]:
    return CARD.findall(html.split('class="best-local"')[0])


def test_the_results_page_says_in_words_how_close_each_partner_is(page_client, page_actors):
    sign_in(page_client, page_actors.poster)
    html = page_client.get("/needs/901").text
    found = cards(html)
    assert found
    for card in found:
        band = re.search(r'<span class="badge band (band-\w+)" title="([^"]+)">([^<]+)</span>', card)
        assert band and band.group(3) in {"とても近い", "近い", "関連あり"}
        assert band.group(2) == band_rule()  # the rule, as a tooltip
        assert re.search(r"最も近いシーズの内容の近さ 0\.\d\d", card)
        assert "スコア 0." not in card and "スコア 1." not in card  # no bare ranking score
        assert 'href="/help/scores"' in card
    assert "とても近い" in found[0]  # 長岡技術科学大学's rice-straw seed is on the need's very subject
    assert seed_floor_note(0.75) in html


def test_shared_terms_are_the_need_s_own_words(page_client, page_actors):
    sign_in(page_client, page_actors.poster)
    first = cards(page_client.get("/needs/901").text)[0]
    terms = re.findall(r"<mark>([^<]+)</mark>", first.split('class="terms"')[1].split("</p>")[0])
    assert {"稲わら", "もみ殻"} <= set(terms)
    assert not {"稲藁", "籾殻"} & set(terms)  # UniDic's lemmas, which the need never writes


def test_the_gain_from_crossing_regions_is_a_sentence(page_client, page_actors):
    sign_in(page_client, page_actors.poster)
    html = page_client.get("/needs/902").text  # a Hiroshima need, whose best partner is 広島大学
    gain = re.search(r'<p class="gain">(.*?)</p>', html, re.S)
    assert gain and "+0." not in gain.group(1)
    assert "最も合う候補（広島大学）は同じ地域（中国）にあります。" in gain.group(1)


def test_the_seed_page_shows_bands_not_a_bare_score(page_client, page_actors):
    sign_in(page_client, page_actors.researcher)
    html = page_client.get("/seeds/1").text
    fits = html.split('id="fits-title"')[1]
    assert re.search(r'<span class="badge band band-\w+" title="[^"]+">(とても近い|近い|関連あり)</span>', fits)
    assert "スコア 1.00" not in fits and "スコア 0." not in fits


def test_the_help_page_explains_every_band_with_its_thresholds(page_client):
    page_client.cookies.clear()
    html = page_client.get("/help/scores").text
    for row in band_rows():
        assert row["name"] in html and row["range"] in html
    assert "0.875" in html and "0.9" in html and "75%" in html
    assert 'id="gain"' in html


def test_the_api_documents_the_numbers(page_client):
    schemas = page_client.get("/openapi.json").json()["components"]["schemas"]
    for model, field in [("PartnerOut", "score"), ("PartnerOut", "similarity"), ("PartnerOut", "shared_terms"),
                         ("SeedHitOut", "bm25"), ("MatchOut", "gain_over_local"), ("NeedHitOut", "score")]:
        description = schemas[model]["properties"][field].get("description", "")
        assert len(description) > 10, (model, field)
    assert "0.875" in schemas["PartnerOut"]["properties"]["similarity"]["description"]


def partner(key: str, name: str, score: float, similarity: float) -> dict:
    return {"key": key, "name": name, "score": score, "similarity": similarity}


NIIGATA = {"prefecture": {"code": "15", "name": "新潟県", "region": "中部"}}


@pytest.mark.parametrize(("best", "local", "says"), [
    (partner("a", "東北大学", 0.52, 0.93), partner("b", "新潟大学", 0.38, 0.88),
     ["東北大学", "新潟大学", "0.38 → 0.52", "37% 高い", "0.93（とても近い）", "0.88（近い）"]),
    (partner("b", "新潟大学", 0.5, 0.9), partner("b", "新潟大学", 0.5, 0.9), ["同じ地域（中部）にあります"]),
    (partner("a", "東北大学", 0.5, 0.86), None, ["同じ地域（中部）には合う候補がありませんでした", "関連あり"]),
])
def test_gain_sentence(best, local, says):
    sentence = gain_sentence({"partners": [best], "best_in_region": local, "need": NIIGATA})
    assert sentence is not None
    for part in says:
        assert part in sentence, sentence


def test_no_gain_sentence_without_a_prefecture_or_a_partner():
    assert gain_sentence({"partners": [], "best_in_region": None, "need": NIIGATA}) is None
    assert gain_sentence({"partners": [partner("a", "x", 1, 1)], "best_in_region": None,
                          "need": {"prefecture": None}}) is None
