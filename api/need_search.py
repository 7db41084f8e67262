"""Searching the list of needs: a keyword and filters, validated once, turned into one SQL condition.

The API (`GET /api/v1/needs`) reads `NeedSearch` from the query string and the needs page from its search form,
so both accept and refuse exactly the same values, with the same Japanese messages. Everything is filtered in
SQL, in a form SQLite and PostgreSQL both run:

- the keyword: every word (split at spaces, full-width ones too) in the title or the description, by `LIKE` with
  `%` and `_` escaped, so a typed `%` is a percent sign and not "anything";
- the market area: the JSON list as text contains `"M3"` (the quotes keep M1 from matching a longer code);
- the poster kind: the kind of the posting organisation;
- the dates: days in Japan time (JST), as users read them; `posted_to` is the last day included.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator
from sqlalchemy import ColumnElement, String, and_, cast, or_, true
from sqlmodel import col, select

from matcher.regions import default_prefectures

from .models import MARKET_AREAS, Need, Organisation, OrgKind, prefecture_code_of
from .schemas import PERIOD_FIRST, PERIOD_LAST, Region
from .text_checks import one_line

JST = timezone(timedelta(hours=9))
QUERY_MAX_CHARS = 200
WORDS_MAX = 10
LIKE_ESCAPE = "\\"
DATE_FORMAT = "日付は 2026-04-01 の形で入力してください。"
DATES_BACKWARDS = "投稿日の終わりは、始まりと同じ日かそれより後にしてください。"
TOO_MANY_WORDS = f"キーワードは{WORDS_MAX}語までにしてください。"
POSTER_KINDS = {OrgKind.municipality: "自治体", OrgKind.company: "企業", OrgKind.university: "大学",
                OrgKind.other: "その他"}


def blank_is_none(value: Any) -> Any:
    """An empty field of the page's form (or `?prefecture=`) means "no filter"."""
    return None if isinstance(value, str) and not value.strip() else value


def search_words(value: str | None) -> str | None:
    """A keyword field of a search (the needs' and the seeds'): one line, at most WORDS_MAX words."""
    if value is None:
        return None
    one_line(value)
    if len(value.split()) > WORDS_MAX:
        raise ValueError(TOO_MANY_WORDS)
    return value.strip()


def prefecture_or_none(value: str | None) -> str | None:
    """A prefecture filter, given by code or name, as its code."""
    return None if value is None else prefecture_code_of(value)


class NeedSearch(BaseModel):
    """The keyword and filters of the list of needs; every field is optional and narrows the list."""

    q: str | None = Field(default=None, max_length=QUERY_MAX_CHARS,
                          description="キーワード（空白で区切った語をすべて、タイトルか内容に含むニーズ）")
    prefecture: str | None = Field(default=None, description="都道府県（コードまたは名称。例: 15、新潟県）")
    region: Region | None = Field(default=None, description="地域ブロック（北海道〜九州）")
    market_area: Literal[MARKET_AREAS] | None = Field(  # type: ignore[valid-type]
        default=None, description="市場領域 M1〜M9")
    poster_kind: OrgKind | None = Field(default=None, description=(
        "投稿した組織の種類（municipality: 自治体、company: 企業、university: 大学、other: その他）"))
    posted_from: date | None = Field(default=None, description="この日（日本時間）以降に投稿されたニーズ")
    posted_to: date | None = Field(default=None, description="この日（日本時間）までに投稿されたニーズ")

    _blank = field_validator("q", "prefecture", "region", "market_area", "poster_kind", "posted_from", "posted_to",
                             mode="before")(blank_is_none)

    _words = field_validator("q")(search_words)
    _prefecture = field_validator("prefecture")(prefecture_or_none)

    @field_validator("posted_from", "posted_to", mode="before")
    @classmethod
    def _date(cls, value: Any) -> Any:
        if not isinstance(value, str) or not value.strip():
            return blank_is_none(value)
        try:  # NFKC: full-width digits typed with a Japanese input method
            day = date.fromisoformat(unicodedata.normalize("NFKC", value).strip())
        except ValueError:
            raise ValueError(DATE_FORMAT) from None
        if not PERIOD_FIRST <= day <= PERIOD_LAST:
            raise ValueError(f"日付は {PERIOD_FIRST} から {PERIOD_LAST} までで入力してください。")
        return day

    @field_validator("posted_to")
    @classmethod
    def _after_from(cls, value: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("posted_from")
        if value is not None and start is not None and value < start:
            raise ValueError(DATES_BACKWARDS)
        return value

    def words(self) -> list[str]:
        return self.q.split() if self.q else []

    def is_empty(self) -> bool:
        return not any(self.model_dump().values())


def jst_date(moment: datetime) -> str:
    """The day of a stored time (UTC) in Japan, as the date filters read it: 2026-12-03."""
    return moment.astimezone(JST).date().isoformat()


def _start_of_day_jst(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=JST)


def like_pattern(word: str) -> str:
    escaped = word.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%")
    return "%" + escaped.replace("_", LIKE_ESCAPE + "_") + "%"


def _has_word(word: str) -> ColumnElement[bool]:
    pattern = like_pattern(word)
    return or_(col(Need.title).ilike(pattern, escape=LIKE_ESCAPE),
               col(Need.description).ilike(pattern, escape=LIKE_ESCAPE))


def search_condition(search: NeedSearch) -> ColumnElement[bool]:
    """`search` as one WHERE clause (true when nothing is asked)."""
    conditions: list[ColumnElement[bool]] = [_has_word(w) for w in search.words()]
    if search.prefecture:
        conditions.append(col(Need.prefecture_code) == search.prefecture)
    if search.region:
        conditions.append(col(Need.prefecture_code).in_(default_prefectures().codes_in_region(search.region)))
    if search.market_area:
        conditions.append(cast(col(Need.market_areas), String).like(f'%"{search.market_area}"%'))
    if search.poster_kind:
        posters = select(Organisation.id).where(col(Organisation.kind) == search.poster_kind)
        conditions.append(col(Need.organisation_id).in_(posters))
    if search.posted_from:
        conditions.append(col(Need.created_at) >= _start_of_day_jst(search.posted_from))
    if search.posted_to:
        conditions.append(col(Need.created_at) < _start_of_day_jst(search.posted_to + timedelta(days=1)))
    return and_(true(), *conditions)
