"""The nine market areas of the bio strategy (M1–M9): codes and their Japanese names.

The one reader of `corpora/master/market_areas.csv`; pages, reports and the API all ask here.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

MARKET_AREAS_CSV = Path(__file__).resolve().parents[1] / "corpora" / "master" / "market_areas.csv"

MARKET_AREA_CODES: tuple[str, ...] = tuple(f"M{i}" for i in range(1, 10))


@lru_cache(maxsize=1)
def market_area_names() -> dict[str, str]:
    """Code → Japanese name, e.g. "M3" → "持続的一次生産システム"."""
    with open(MARKET_AREAS_CSV, encoding="utf-8", newline="") as f:
        return {row["code"]: row["name"] for row in csv.DictReader(f)}


def market_area_choices() -> list[tuple[str, str]]:
    """(code, name) in code order, for the pages' check boxes and filters."""
    names = market_area_names()
    return [(code, names.get(code, code)) for code in MARKET_AREA_CODES]
