"""Searching the seeds by keyword and filters (issue 15: not only need → match), as one SQL condition.

The same rules as the needs' search (api/need_search.py), for the API (`GET /api/v1/seeds`) and the page
(`/seeds`) alike:

- the keyword: every word in the seed's title or summary, or in its researcher's name or department (so a
  researcher is found by name too), by `LIKE` with `%` and `_` escaped. Keywords are not searched: they are
  stored as a JSON list, whose text form escapes Japanese (`\\u30c9…`), so a LIKE on it would miss;
- the place: the prefecture, or the region, of the seed's university;
- the university: its name contains the text; the market area and the stage (研究の段階) as chosen.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import ColumnElement, String, and_, cast, or_, true
from sqlmodel import col, select

from matcher.regions import default_prefectures

from .models import MARKET_AREAS, Organisation, Readiness, Researcher, Seed
from .need_search import (
    LIKE_ESCAPE,
    QUERY_MAX_CHARS,
    blank_is_none,
    like_pattern,
    prefecture_or_none,
    search_words,
)
from .schemas import Region


class SeedSearch(BaseModel):
    """The keyword and filters of the list of seeds; every field is optional and narrows the list."""

    q: str | None = Field(default=None, max_length=QUERY_MAX_CHARS, description=(
        "キーワード（空白で区切った語をすべて、シーズのタイトルか概要、または研究者の氏名か所属に含むもの）"))
    prefecture: str | None = Field(default=None, description="大学の都道府県（コードまたは名称。例: 15、新潟県）")
    region: Region | None = Field(default=None, description="大学の地域ブロック（北海道〜九州）")
    university: str | None = Field(default=None, max_length=QUERY_MAX_CHARS, description="大学名（その文字を含む）")
    market_area: Literal[MARKET_AREAS] | None = Field(  # type: ignore[valid-type]
        default=None, description="市場領域 M1〜M9")
    readiness: Readiness | None = Field(default=None,
                                        description="研究の段階（基礎研究・応用研究・実証段階・実用化段階）")

    _blank = field_validator("q", "prefecture", "region", "university", "market_area", "readiness",
                             mode="before")(blank_is_none)

    _words = field_validator("q", "university")(search_words)
    _prefecture = field_validator("prefecture")(prefecture_or_none)

    def words(self) -> list[str]:
        return self.q.split() if self.q else []

    def is_empty(self) -> bool:
        return not any(self.model_dump().values())


def _has_word(word: str) -> ColumnElement[bool]:
    pattern = like_pattern(word)
    people = select(Researcher.id).where(or_(col(Researcher.name).ilike(pattern, escape=LIKE_ESCAPE),
                                             col(Researcher.department).ilike(pattern, escape=LIKE_ESCAPE)))
    return or_(col(Seed.title).ilike(pattern, escape=LIKE_ESCAPE), col(Seed.summary).ilike(pattern, escape=LIKE_ESCAPE),
               col(Seed.researcher_id).in_(people))


def seed_search_condition(search: SeedSearch) -> ColumnElement[bool]:
    """`search` as one WHERE clause on seeds (true when nothing is asked)."""
    conditions: list[ColumnElement[bool]] = [_has_word(w) for w in search.words()]
    universities = []
    if search.prefecture:
        universities.append(col(Organisation.prefecture_code) == search.prefecture)
    if search.region:
        universities.append(col(Organisation.prefecture_code).in_(default_prefectures().codes_in_region(search.region)))
    if search.university:
        universities.append(col(Organisation.name).ilike(like_pattern(search.university), escape=LIKE_ESCAPE))
    if universities:
        conditions.append(col(Seed.organisation_id).in_(select(Organisation.id).where(*universities)))
    if search.market_area:
        conditions.append(cast(col(Seed.market_areas), String).like(f'%"{search.market_area}"%'))
    if search.readiness:
        conditions.append(col(Seed.readiness) == search.readiness)
    return and_(true(), *conditions)
