"""Prefectures, the 8 regional blocks, and distances between prefectural capitals.

The master data is `corpora/master/prefectures.csv` (JIS codes, names, kana,
English names, 8-block region, capital and its coordinates).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .errors import UnknownPrefectureError

PREFECTURES_CSV = Path(__file__).resolve().parents[1] / "corpora" / "master" / "prefectures.csv"

# North to south, the order reports and pages list the blocks in.
REGION_ORDER = ("北海道", "東北", "関東", "中部", "近畿", "中国", "四国", "九州")

EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True)
class Prefecture:
    code: str  # two-digit JIS X 0401 code, "01".."47"
    name: str
    kana: str
    name_en: str
    region: str
    capital: str
    lat: float
    lng: float


class PrefectureTable:
    """Looks prefectures up by code, Japanese name (with or without 都/道/府/県) or English name."""

    def __init__(self, prefectures: list[Prefecture]):
        self._by_code = {p.code: p for p in prefectures}
        self._by_key: dict[str, Prefecture] = {}
        for p in prefectures:
            for key in (p.code, str(int(p.code)), p.name, short_name(p.name), p.name_en.lower()):
                self._by_key[key] = p

    @classmethod
    def from_csv(cls, path: Path = PREFECTURES_CSV) -> PrefectureTable:
        with open(path, encoding="utf-8", newline="") as f:
            rows = [
                Prefecture(
                    code=row["code"].zfill(2),
                    name=row["name"],
                    kana=row["kana"],
                    name_en=row["name_en"],
                    region=row["region"],
                    capital=row["capital"],
                    lat=float(row["lat"]),
                    lng=float(row["lng"]),
                )
                for row in csv.DictReader(f)
            ]
        return cls(rows)

    def get(self, value: object) -> Prefecture:
        """Resolve a code (15, "15", "新潟県", "新潟", "Niigata"); raise UnknownPrefectureError otherwise."""
        if isinstance(value, Prefecture):
            return value
        if isinstance(value, bool) or value is None:
            raise UnknownPrefectureError(value)
        key = str(value).strip()
        if key.isdecimal() and (key.isascii() or all("０" <= c <= "９" for c in key)):  # 15, １５; not ², ١٥
            key = str(int(key))
        found = self._by_key.get(key) or self._by_key.get(key.lower())
        if found is None:
            raise UnknownPrefectureError(value)
        return found

    def __iter__(self) -> Iterator[Prefecture]:
        return iter(self._by_code.values())

    def __len__(self) -> int:
        return len(self._by_code)

    def region_of(self, value: object) -> str:
        return self.get(value).region

    def distance_km(self, a: object, b: object) -> float:
        """Great-circle distance between the two prefectures' capitals."""
        pa, pb = self.get(a), self.get(b)
        return haversine_km(pa.lat, pa.lng, pb.lat, pb.lng)

    def codes_in_region(self, region: str) -> list[str]:
        if region not in REGION_ORDER:
            raise UnknownRegionError(region)
        return [p.code for p in self if p.region == region]


class UnknownRegionError(UnknownPrefectureError):
    def __init__(self, value: object):
        ValueError.__init__(
            self,
            f"地域ブロック「{value}」が見つかりません。{'・'.join(REGION_ORDER)}のいずれかを指定してください。",
        )
        self.value = value


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lng2 - lng1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def short_name(name: str) -> str:
    """A prefecture's name without its 都/府/県: 京都府 → 京都, 東京都 → 東京."""
    # 北海道 keeps its 道: "北海" is not how anyone writes it.
    if name == "北海道":
        return name
    return name[:-1] if name[-1] in "都府県" else name


@lru_cache(maxsize=1)
def default_prefectures() -> PrefectureTable:
    return PrefectureTable.from_csv()
