"""Response and request shapes of the matching and report routes (the entity shapes live in models.py).

The report shapes are here, not in routes/reports.py, because the coordinator's page validates its form with
the same `ReportRequest` the API uses.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from matcher.regions import REGION_ORDER
from matcher.reports import DEFAULT_UNMET_THRESHOLD, unmet_rule

from . import score_docs as docs
from .limits import TOP_K_MAX
from .models import MARKET_AREAS, ResearcherPublic, prefecture_code_of

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
    sort: Literal["overall", "content"] = Field(default="overall", description=docs.SORT)

    @field_validator("include_prefectures", "exclude_prefectures", mode="before")
    @classmethod
    def _codes(cls, values: Any) -> Any:
        if not isinstance(values, list):
            return values
        return [prefecture_code_of(v) for v in values]


class PrefectureOut(BaseModel):
    code: str
    name: str
    region: str


class Span(BaseModel):
    start: int = Field(description=docs.SPAN_START)
    end: int = Field(description=docs.SPAN_END)
    term: str = Field(description=docs.SPAN_TERM)


class Contact(BaseModel):
    office: str
    url: str | None = None
    email: str | None = None
    phone: str | None = None


class SeedHitOut(BaseModel):
    seed_id: int
    title: str
    text: str
    score: float = Field(description=docs.SEED_SCORE)
    similarity: float = Field(description=docs.SIMILARITY)
    bm25: float = Field(description=docs.BM25)
    shared_terms: list[str] = Field(description=docs.SEED_TERMS)
    highlights: list[Span] = Field(description=docs.SEED_HIGHLIGHTS)
    market_areas: list[str]
    readiness: str | None
    researcher: ResearcherPublic | None


class ContentFitOut(BaseModel):
    words: str = Field(description=docs.CONTENT_FIT_WORDS)
    band: str = Field(description="最も近いシーズの内容の近さの帯（とても近い・近い・関連あり）")
    similarity: float = Field(description=docs.PARTNER_SIMILARITY)
    close_seeds: int = Field(description=docs.CLOSE_SEEDS)


class TrackRecordOut(BaseModel):
    words: str = Field(description=docs.TRACK_RECORD_WORDS)
    seed_count: int = Field(description=docs.SEED_COUNT)


class SignalsOut(BaseModel):
    content_fit: ContentFitOut = Field(description="内容の近さ")
    track_record: TrackRecordOut = Field(description="実績・体制")


class PartnerOut(BaseModel):
    level: str
    key: str
    name: str
    university: str
    researcher: ResearcherPublic | None
    prefecture: PrefectureOut | None
    region: str | None
    cross_region: bool | None
    distance_km: float | None = Field(description=docs.DISTANCE_KM)
    distance_basis: str | None = Field(default=None, description=docs.DISTANCE_BASIS)
    distance_label: str | None = Field(default=None, description=docs.DISTANCE_LABEL)
    municipality: str | None = Field(default=None, description="大学の本部所在地の市区町村（分かる場合）")
    score: float = Field(description=docs.PARTNER_SCORE)
    similarity: float = Field(description=docs.PARTNER_SIMILARITY)
    shared_terms: list[str] = Field(description=docs.PARTNER_TERMS)
    explanation: str = Field(description=docs.EXPLANATION)
    promoted_for_cross_region: bool
    signals: SignalsOut = Field(description=docs.SIGNALS)
    contact: Contact | None
    seeds: list[SeedHitOut] = Field(description=docs.PARTNER_SEEDS)


class NeedEcho(BaseModel):
    text: str
    prefecture: PrefectureOut | None
    highlights: list[Span] = Field(description=docs.NEED_HIGHLIGHTS)


class MatchOut(BaseModel):
    need_id: int | None = None
    need: NeedEcho
    scope: str
    level: str
    sort: str = Field(default="overall", description=docs.SORT)
    partners: list[PartnerOut]
    best_in_region: PartnerOut | None
    cross_region_count: int
    gain_over_local: float | None = Field(description=docs.GAIN)


class NeedHitOut(BaseModel):
    need_id: int
    title: str
    prefecture_code: str | None
    poster: dict[str, Any]
    score: float = Field(description=docs.NEED_SCORE)
    similarity: float = Field(description=docs.SIMILARITY)
    shared_terms: list[str] = Field(description=docs.NEED_TERMS)
    cross_region: bool | None
    distance_km: float | None = Field(description=docs.DISTANCE_KM)
    distance_basis: str | None = Field(default=None, description=docs.DISTANCE_BASIS)
    distance_label: str | None = Field(default=None, description=docs.DISTANCE_LABEL)


class Health(BaseModel):
    status: Literal["ok", "not_ready"]
    checks: dict[str, bool | str | int] = {}


# ---- batch reports (issue 5) ---------------------------------------------------------------------
Format = Literal["html", "xlsx", "csv", "pdf", "json"]
# the period a report may ask for: wide, but bounded, so that no date reaches the database out of its range
PERIOD_FIRST, PERIOD_LAST = date(2000, 1, 1), date(2999, 12, 31)
PERIOD_BACKWARDS = "終了日は開始日より後の日付にしてください（終了日の前日までが対象です）。"


def _default_formats() -> list[Format]:
    return ["html", "xlsx", "csv", "json"]


class ReportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    regions: list[str] = Field(default_factory=list, max_length=8, description="地域ブロック（北海道〜九州）")
    prefectures: list[str] = Field(default_factory=list, max_length=47, description="都道府県（コードまたは名称）")
    market_areas: list[str] = Field(default_factory=list, max_length=9, description="市場領域 M1〜M9")
    since: date | None = Field(default=None, ge=PERIOD_FIRST, le=PERIOD_LAST,
                               description="この日以降に登録されたニーズ")
    until: date | None = Field(default=None, ge=PERIOD_FIRST, le=PERIOD_LAST,
                               description="この日より前に登録されたニーズ")
    formats: list[Format] = Field(default_factory=_default_formats, min_length=1, max_length=5)
    top_partners: int = Field(default=5, ge=1, le=20)
    flow_partners: int = Field(default=3, ge=1, le=20)
    unmet_threshold: float = Field(default=DEFAULT_UNMET_THRESHOLD, ge=0.0, le=1.0,
                                   description=("内容の近さ（最も合うシーズとのコサイン）がこの値未満のニーズを"
                                                f"未充足とする（既定: {unmet_rule(DEFAULT_UNMET_THRESHOLD)}）"))
    assignment_cap: int | None = Field(default=None, ge=1, le=10_000,
                                       description="上限付き割り当て: 1大学あたりのニーズ数")
    csv_encoding: Literal["utf-8-sig", "cp932"] = "utf-8-sig"
    mode: Literal["hybrid", "dense"] = Field(
        default="hybrid", description="hybrid: 照合（match）と同じスコア（既定）／dense: 埋め込みのみ（比較用）")
    sort: Literal["overall", "content"] = Field(default="overall", description=docs.SORT)

    @field_validator("until")
    @classmethod
    def _after_since(cls, value: date | None, info: ValidationInfo) -> date | None:
        since = info.data.get("since")
        if value is not None and since is not None and value <= since:
            raise ValueError(PERIOD_BACKWARDS)
        return value

    @field_validator("regions")
    @classmethod
    def _regions(cls, values: list[str]) -> list[str]:
        unknown = [v for v in values if v not in REGION_ORDER]
        if unknown:
            raise ValueError(f"地域ブロック {unknown} は使えません。{'・'.join(REGION_ORDER)}のいずれかです。")
        return values

    @field_validator("prefectures")
    @classmethod
    def _prefectures(cls, values: list[str]) -> list[str]:
        return [prefecture_code_of(v) for v in values]

    @field_validator("market_areas")
    @classmethod
    def _areas(cls, values: list[str]) -> list[str]:
        unknown = [v for v in values if v not in MARKET_AREAS]
        if unknown:
            raise ValueError(f"市場領域 {unknown} は使えません。M1〜M9 で指定してください。")
        return values


class ReportFile(BaseModel):
    name: str
    url: str
    download_name: str = Field(description=(
        "ダウンロードしたときのファイル名（範囲と日付入り。例: 連携レポート_北海道・東北_2026-12-03.xlsx。"
        "Content-Disposition の filename* と同じ）"))


class ReportJobOut(BaseModel):
    id: int
    status: Literal["queued", "running", "succeeded", "failed"]
    stage: str | None
    done: int
    total: int
    message: str | None
    params: dict[str, Any]
    summary: dict[str, Any]
    files: list[ReportFile]
    created_at: str
    finished_at: str | None
    remaining_s: int | None = Field(default=None, description=(
        "いまの段階が終わるまでの見積もり（秒）。この段階でこれまでに進んだ速さ（件数÷秒）から計算。"
        "測れるまで（始まって数秒）と実行中でないときは null"))
    remaining: str | None = Field(default=None, description=(
        "remaining_s を日本語で（例「残り約2分」）。null なら見積もりなし"))
