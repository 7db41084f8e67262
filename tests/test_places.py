"""Where needs and universities are, and distances that mean something (issue 13, part 5).

Distances come from the municipality master (office coordinates) and each university's main address. The
figures the issue found wrong are table rows here: every Hokkaido university "約0 km" from a farm in 宗谷,
and 鶴岡 → 仙台 "約44 km" (the distance between the prefectural capitals 山形 and 仙台).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from matcher.places import (
    MUNICIPALITIES_CSV,
    UNIVERSITIES_CSV,
    DistanceBasis,
    Location,
    UnknownMunicipalityError,
    default_places,
    distance_between,
)
from matcher.results import distance_label

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def places():
    return default_places()


@pytest.mark.parametrize(("need_at", "university", "low", "high"), [
    (("01", "稚内市"), ("帯広畜産大学", "01"), 280, 340),  # 宗谷 → 帯広: was 約0 km (same prefecture)
    (("01", "稚内市"), ("北海道大学", "01"), 230, 290),  # 宗谷 → 札幌
    (("01", "猿払村"), ("北見工業大学", "01"), 190, 250),
    (("06", "鶴岡市"), ("東北大学", "04"), 100, 140),  # was 約44 km (山形市 → 仙台市)
    (("22", "浜松市 中区"), ("静岡大学", "22"), 60, 90),  # 静岡大学's main address is in 静岡市 駿河区
])
def test_distances_run_between_the_need_s_municipality_and_the_main_campus(places, need_at, university, low,
                                                                          high):
    prefecture, municipality = need_at
    need = places.locate(prefecture, places.check_municipality(municipality, prefecture).code)
    campus = places.campus(*university)
    distance = distance_between(need, campus, places.prefectures)
    assert distance is not None and distance.basis == DistanceBasis.municipalities
    assert distance.km is not None and low <= distance.km <= high


def test_an_unknown_point_in_one_prefecture_is_shown_as_same_prefecture_without_a_figure(places):
    farm = places.locate("01")  # the need names no municipality
    obihiro = places.campus("帯広畜産大学", "01")
    distance = distance_between(farm, obihiro, places.prefectures)
    assert distance is not None and distance.km is None and distance.basis == DistanceBasis.same_prefecture
    assert distance_label(distance.km, distance.basis) == "同じ県内"


def test_an_unknown_point_in_another_prefecture_is_measured_between_capitals_and_says_so(places):
    tsuruoka_unknown = places.locate("06")
    tohoku = places.campus("東北大学", "04")
    distance = distance_between(tsuruoka_unknown, tohoku, places.prefectures)
    assert distance is not None and distance.basis == DistanceBasis.prefecture_capitals
    assert distance_label(distance.km, distance.basis) == f"約{round(distance.km):,} km（県庁所在地間）"
    assert distance_between(None, tohoku, places.prefectures) is None


@pytest.mark.parametrize(("value", "prefecture", "code"), [
    ("012076", "01", "012076"),
    ("帯広市", "01", "012076"),
    ("札幌市 北区", "01", "011029"),
    ("札幌市北区", "01", "011029"),  # written without the master's space
    (" 鶴岡市 ", "06", "062031"),
])
def test_a_municipality_is_found_by_code_or_by_name_in_its_prefecture(places, value, prefecture, code):
    assert places.check_municipality(value, prefecture).code == code


@pytest.mark.parametrize(("value", "prefecture"), [
    ("帯広市", "06"),  # a real name, in another prefecture
    ("012076", "06"),  # a real code, in another prefecture
    ("存在しない市", "01"),
    ("999999", "01"),
    ("", "01"),
])
def test_a_municipality_outside_the_prefecture_or_unknown_is_a_japanese_error(places, value, prefecture):
    with pytest.raises(UnknownMunicipalityError, match="市区町村「.*」が見つかりません"):
        places.check_municipality(value, prefecture)


def test_a_stored_municipality_that_no_longer_fits_leaves_the_prefecture_alone(places):
    location = places.locate("06", "012076")  # 帯広市 stored against 山形県: written before a check, or edited
    assert location == Location(places.prefectures.get("06"))


def test_every_demo_university_has_a_main_campus_in_its_own_prefecture(places):
    universities = [json.loads(line) for path in sorted((ROOT / "corpora" / "universities").glob("*.jsonl"))
                    for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(universities) > 80
    for university in universities:
        campus = places.campus(university["name"], university["prefecture_code"])
        assert campus is not None and campus.municipality is not None, university["name"]


def test_the_masters_are_complete_and_credited(places):
    assert len(places.municipalities) == 1916
    assert {m.prefecture_code for m in places.municipalities} == {f"{i:02d}" for i in range(1, 48)}
    with open(UNIVERSITIES_CSV, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 813 and all(r["municipality_code"] for r in rows)
    credits = (ROOT / "corpora" / "README.md").read_text(encoding="utf-8")
    for path in (MUNICIPALITIES_CSV, UNIVERSITIES_CSV):
        assert f"`master/{path.name}`" in credits
