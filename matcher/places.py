"""Where a need and a university are, and how far apart: municipalities, campuses and distances.

The masters are public facts copied into `corpora/master/` (sources in corpora/README.md):
- `municipalities.csv`: every municipality and ward, by 全国地方公共団体コード, with its office's coordinates;
- `universities.csv`: each university's main address, by municipality code.

A university is placed at the office of the municipality of its main address: within a few km of the
campus, and the same for every reader. A need is placed where its poster says (a municipality chosen from
the master), else only by its prefecture.

A distance is only shown where it means something. Between two known municipalities it is the great-circle
distance between their offices. Where a point is unknown, two places in the same prefecture are shown as
「同じ県内」 (no figure: a prefecture such as 北海道 spans 500 km), and two prefectures by the distance
between their capitals, labelled as such.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from .regions import Prefecture, PrefectureTable, default_prefectures, haversine_km

MASTER_DIR = Path(__file__).resolve().parents[1] / "corpora" / "master"
MUNICIPALITIES_CSV = MASTER_DIR / "municipalities.csv"
UNIVERSITIES_CSV = MASTER_DIR / "universities.csv"


class UnknownMunicipalityError(ValueError):
    def __init__(self, value: object, prefecture: Prefecture | None = None):
        where = f"{prefecture.name}の" if prefecture else ""
        super().__init__(f"{where}市区町村「{value}」が見つかりません。全国地方公共団体コード（6桁）か、"
                         f"市区町村名（例: 帯広市、札幌市 北区）で指定してください。")
        self.value = value


@dataclass(frozen=True)
class Municipality:
    code: str  # 全国地方公共団体コード, six digits with its check digit: "012076" (帯広市)
    prefecture_code: str
    name: str  # as the master writes it; a ward of a designated city is "札幌市 北区"
    kana: str
    lat: float
    lng: float


class MunicipalityTable:
    """Municipalities by code, and by name within a prefecture."""

    def __init__(self, municipalities: list[Municipality]):
        self._by_code = {m.code: m for m in municipalities}
        self._by_name: dict[tuple[str, str], Municipality] = {}
        for m in municipalities:
            for name in (m.name, m.name.replace(" ", "")):
                self._by_name[(m.prefecture_code, name)] = m

    @classmethod
    def from_csv(cls, path: Path = MUNICIPALITIES_CSV) -> MunicipalityTable:
        with open(path, encoding="utf-8-sig", newline="") as f:
            return cls([Municipality(code=row["lgcode"].zfill(6), prefecture_code=row["prefecture_code"].zfill(2),
                                     name=row["name"], kana=row["kana"], lat=float(row["lat"]),
                                     lng=float(row["lng"]))
                        for row in csv.DictReader(f)])

    def get(self, value: object, prefecture: Prefecture | None = None) -> Municipality:
        """A code ("012076") or, within `prefecture`, a name ("帯広市", "札幌市北区"). A municipality of another
        prefecture than `prefecture` is an error: a need cannot lie in two prefectures."""
        key = str(value).strip() if value is not None else ""
        found = self._by_code.get(key) if key.isascii() and key.isdigit() else None
        if found is None and prefecture is not None:
            found = self._by_name.get((prefecture.code, key)) or self._by_name.get((prefecture.code,
                                                                                    key.replace(" ", "")))
        if found is None or (prefecture is not None and found.prefecture_code != prefecture.code):
            raise UnknownMunicipalityError(value, prefecture)
        return found

    def in_prefecture(self, prefecture_code: str) -> list[Municipality]:
        """The prefecture's municipalities in the master's order (by code: the prefectural capital first)."""
        return [m for m in self._by_code.values() if m.prefecture_code == prefecture_code]

    def __iter__(self) -> Iterator[Municipality]:
        return iter(self._by_code.values())

    def __len__(self) -> int:
        return len(self._by_code)


class DistanceBasis(StrEnum):
    municipalities = "municipalities"  # both points known: the figure is between the two offices
    same_prefecture = "same_prefecture"  # a point unknown, one prefecture: shown as 同じ県内, no figure
    prefecture_capitals = "prefecture_capitals"  # a point unknown, two prefectures: between their capitals


@dataclass(frozen=True)
class Location:
    prefecture: Prefecture
    municipality: Municipality | None = None


@dataclass(frozen=True)
class Distance:
    km: float | None  # None for same_prefecture
    basis: DistanceBasis


def distance_between(a: Location | None, b: Location | None, prefectures: PrefectureTable) -> Distance | None:
    """How far apart two places are, as module doc says; None where either prefecture is unknown."""
    if a is None or b is None:
        return None
    if a.municipality is not None and b.municipality is not None:
        km = haversine_km(a.municipality.lat, a.municipality.lng, b.municipality.lat, b.municipality.lng)
        return Distance(round(km, 1), DistanceBasis.municipalities)
    if a.prefecture.code == b.prefecture.code:
        return Distance(None, DistanceBasis.same_prefecture)
    return Distance(round(prefectures.distance_km(a.prefecture, b.prefecture), 1),
                    DistanceBasis.prefecture_capitals)


class Places:
    """Prefectures, municipalities and universities' main addresses: where a need or a university is."""

    def __init__(self, prefectures: PrefectureTable, municipalities: MunicipalityTable,
                 campuses: dict[str, str]):
        self.prefectures = prefectures
        self.municipalities = municipalities
        self._campuses = campuses  # university name → municipality code of its main address

    @classmethod
    def from_master(cls, prefectures: PrefectureTable | None = None,
                    universities_csv: Path = UNIVERSITIES_CSV) -> Places:
        with open(universities_csv, encoding="utf-8-sig", newline="") as f:
            campuses = {row["name"]: row["municipality_code"].zfill(6) for row in csv.DictReader(f)
                        if row["municipality_code"]}
        return cls(prefectures or default_prefectures(), MunicipalityTable.from_csv(), campuses)

    def locate(self, prefecture_code: str | None, municipality_code: str | None = None) -> Location | None:
        """A need's (or any item's) place; None without a prefecture. A municipality outside the prefecture,
        or unknown, leaves only the prefecture: what the caller stored was checked when it was written."""
        if not prefecture_code:
            return None
        prefecture = self.prefectures.get(prefecture_code)
        municipality = None
        if municipality_code:
            try:
                municipality = self.municipalities.get(municipality_code, prefecture)
            except UnknownMunicipalityError:
                municipality = None
        return Location(prefecture, municipality)

    def campus(self, university: str, prefecture_code: str | None,
               municipality_code: str | None = None) -> Location | None:
        """A university's place: its own municipality where given, else its main address in the master."""
        return self.locate(prefecture_code, municipality_code or self._campuses.get(university))

    def check_municipality(self, value: object, prefecture_code: str) -> Municipality:
        """What a writer gives as a need's municipality, resolved in its prefecture; UnknownMunicipalityError
        (a Japanese message) otherwise."""
        return self.municipalities.get(value, self.prefectures.get(prefecture_code))

    def need_municipality_code(self, value: object, prefecture_code: str | None) -> str | None:
        """A need's municipality as written (a code or a name; None or blank: not said), as the code to store.
        A municipality needs its prefecture and must lie in it; a Japanese ValueError otherwise."""
        if value is None or not str(value).strip():
            return None
        if not prefecture_code:
            raise ValueError("市区町村を書くときは都道府県（prefecture_code）も書いてください。")
        return self.check_municipality(value, prefecture_code).code


@lru_cache(maxsize=1)
def default_places() -> Places:
    return Places.from_master()
