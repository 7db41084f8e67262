"""Response and request shapes of the matching routes (the entity shapes live in models.py)."""

from __future__ import annotations

from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from matcher.regions import REGION_ORDER, default_prefectures

from .limits import TOP_K_MAX
from .models import MARKET_AREAS, ResearcherPublic

T = TypeVar("T")
Region = Literal["北海道", "東北", "関東", "中部", "近畿", "中国", "四国", "九州"]
assert set(Region.__args__) == set(REGION_ORDER)  # type: ignore[attr-defined]


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class MatchOptions(BaseModel):
    """Filters for re-running a need's match."""

    model_config = ConfigDict(extra="forbid")
    top_k: int = Field(default=10, ge=1, le=TOP_K_MAX)
    scope: Literal["all", "cross-region", "in-region"] = "all"
    level: Literal["university", "researcher", "seed"] = "university"
    include_prefectures: list[str] = Field(default_factory=list, max_length=47)
    exclude_prefectures: list[str] = Field(default_factory=list, max_length=47)
    include_regions: list[Region] = Field(default_factory=list, max_length=8)
    exclude_regions: list[Region] = Field(default_factory=list, max_length=8)
    market_areas: list[Literal[MARKET_AREAS]] = Field(default_factory=list, max_length=9)  # type: ignore[valid-type]

    @field_validator("include_prefectures", "exclude_prefectures", mode="before")
    @classmethod
    def _codes(cls, values):
        if not isinstance(values, list):
            return values
        return [default_prefectures().get(v).code for v in values]


class PrefectureOut(BaseModel):
    code: str
    name: str
    region: str


class Span(BaseModel):
    start: int
    end: int
    term: str


class Contact(BaseModel):
    office: str
    url: str | None = None
    email: str | None = None
    phone: str | None = None


class SeedHitOut(BaseModel):
    seed_id: int
    title: str
    text: str
    score: float
    similarity: float
    bm25: float
    shared_terms: list[str]
    highlights: list[Span]
    market_areas: list[str]
    readiness: str | None
    researcher: ResearcherPublic | None


class PartnerOut(BaseModel):
    level: str
    key: str
    name: str
    university: str
    researcher: ResearcherPublic | None
    prefecture: PrefectureOut | None
    region: str | None
    cross_region: bool | None
    distance_km: float | None
    score: float
    similarity: float
    shared_terms: list[str]
    explanation: str
    promoted_for_cross_region: bool
    contact: Contact | None
    seeds: list[SeedHitOut]


class NeedEcho(BaseModel):
    text: str
    prefecture: PrefectureOut | None
    highlights: list[Span]


class MatchOut(BaseModel):
    need_id: int | None = None
    need: NeedEcho
    scope: str
    level: str
    partners: list[PartnerOut]
    best_in_region: PartnerOut | None
    cross_region_count: int
    gain_over_local: float | None


class NeedHitOut(BaseModel):
    need_id: int
    title: str
    prefecture_code: str | None
    poster: dict
    score: float
    similarity: float
    shared_terms: list[str]
    cross_region: bool | None
    distance_km: float | None


class Health(BaseModel):
    status: Literal["ok", "not_ready"]
    checks: dict[str, bool | str] = {}
