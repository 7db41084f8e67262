"""A researcher's profile (issue 15): researchmap and KAKEN ids checked and linked, and the contact settings
shown back to the researcher (and admins) only."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from api.models import ResearcherUpdate
from api.researcher_links import kaken_id_of, researchmap_id_of

API = "/api/v1"


@pytest.mark.parametrize(("typed", "stored"), [
    ("read0123456", "read0123456"), ("https://researchmap.jp/yamada_taro", "yamada_taro"),
    ("researchmap.jp/yamada-taro/", "yamada-taro"), ("https://researchmap.jp/t.yamada?lang=ja", "t.yamada"),
    ("", None), ("  ", None)])
def test_a_researchmap_id_is_taken_from_an_id_or_its_address(typed, stored):
    assert researchmap_id_of(typed) == stored


@pytest.mark.parametrize("typed", ["javascript:alert(1)", "https://evil.example/yamada", "http://researchmap.jp/",
                                   "山田", "a", "https://researchmap.jp.evil.example/x"])
def test_anything_else_is_refused_in_japanese(typed):
    with pytest.raises(ValueError, match="researchmap の ID"):
        researchmap_id_of(typed)
    with pytest.raises(ValidationError, match="researchmap の ID"):
        ResearcherUpdate.model_validate({"researchmap_id": 3.5 if typed == "a" else typed})


@pytest.mark.parametrize(("typed", "stored"), [
    ("12345678", "12345678"), ("１２３４－５６７８", "12345678"), ("https://nrid.nii.ac.jp/ja/nrid/1000012345678/",
                                                           "12345678"),
    ("https://kaken.nii.ac.jp/ja/search/?qm=12345678", "12345678"), ("", None)])
def test_a_kaken_number_is_taken_from_the_number_or_an_address_holding_it(typed, stored):
    assert kaken_id_of(typed) == stored


@pytest.mark.parametrize("typed", ["1234567", "123456789", "abcdefgh", "https://example.com/nrid/1000012345678",
                                   12345678, 1.5, ["12345678"]])
def test_a_bad_kaken_number_is_refused(typed):
    with pytest.raises(ValidationError, match="研究者番号"):
        ResearcherUpdate.model_validate({"kaken_id": typed})


def test_the_researcher_saves_links_and_sees_its_settings_back_others_see_links_only(client, actors):
    me = f"{API}/researchers/{actors.researcher_id}"
    saved = client.patch(me, headers=actors.researcher, json={
        "researchmap_id": "https://researchmap.jp/takada_makoto", "kaken_id": "https://kaken.nii.ac.jp/ja/search/?qm=87654321",
        "email_visibility": "registered", "phone_visibility": "private"})
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert (body["researchmap_id"], body["kaken_id"]) == ("takada_makoto", "87654321")
    assert body["researchmap_url"] == "https://researchmap.jp/takada_makoto"
    assert body["kaken_url"] == "https://kaken.nii.ac.jp/ja/search/?qm=87654321"
    assert body["settings"] == {"email_visibility": "registered", "phone_visibility": "private",
                                "receives_introductions": False}
    as_poster = client.get(me, headers=actors.poster).json()
    assert as_poster["settings"] is None and as_poster["researchmap_url"] == body["researchmap_url"]
    assert client.get(me, headers=actors.admin).json()["settings"]["email_visibility"] == "registered"
    refused = client.patch(me, headers=actors.researcher, json={"researchmap_id": "https://evil.example/x"})
    assert refused.status_code == 422 and "researchmap" in refused.json()["error"]["details"][0]["message"]
    assert client.get(me, headers=actors.researcher).json()["researchmap_id"] == "takada_makoto"  # nothing lost
