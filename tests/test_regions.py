import pytest

from matcher.errors import UnknownPrefectureError
from matcher.regions import REGION_ORDER, UnknownRegionError, default_prefectures


def test_master_data_has_47_prefectures_in_8_regions():
    table = default_prefectures()
    assert len(table) == 47
    assert {p.region for p in table} == set(REGION_ORDER)


@pytest.mark.parametrize("value", ["15", 15, "新潟県", "新潟", "Niigata", "niigata", " 15 "])
def test_prefecture_lookup_forms(value):
    assert default_prefectures().get(value).name == "新潟県"


def test_hokkaido_and_tokyo():
    table = default_prefectures()
    assert table.get("北海道").code == "01"
    assert table.get("東京").code == "13"
    assert table.get(13).region == "関東"


@pytest.mark.parametrize("value", ["48", "00", "ニューヨーク", "", None, True])
def test_unknown_prefecture_raises_japanese_error(value):
    with pytest.raises(UnknownPrefectureError, match="見つかりません"):
        default_prefectures().get(value)


def test_distances_between_capitals():
    table = default_prefectures()
    assert table.distance_km("15", "15") == 0
    # Sapporo–Naha is about 2,240 km; Tokyo–Osaka about 400 km
    assert 2200 < table.distance_km("01", "47") < 2300
    assert 380 < table.distance_km("13", "27") < 420


def test_codes_in_region():
    table = default_prefectures()
    assert table.codes_in_region("四国") == ["36", "37", "38", "39"]
    with pytest.raises(UnknownRegionError, match="地域ブロック"):
        table.codes_in_region("関西")
