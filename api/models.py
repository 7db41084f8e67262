"""Tables and API shapes, one SQLModel family per entity: Base / Create / Update / table / Public.

- Create and Update models validate input and reject unknown fields.
- Table models do not validate; rows are only built from validated input.
- Public models carry no private field: token hashes, owner ids where they
  would leak, and researcher contact details are never in them. Contact
  details reach a reader only through `ResearcherPublic.contact`, filled per
  field by the visibility the researcher chose (APPI: showing a researcher's
  e-mail to a company is a third-party provision and needs consent, so
  private is the default).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from pydantic import ValidationInfo, field_validator
from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel
from sqlmodel._compat import SQLModelConfig  # the type SQLModel gives model_config; pydantic's ConfigDict is narrower

from matcher.market_areas import MARKET_AREA_CODES
from matcher.places import default_places
from matcher.regions import default_prefectures

from .limits import (
    EXTERNAL_ID_MAX_CHARS,
    ID_MAX,
    KEYWORD_MAX_CHARS,
    KEYWORDS_MAX,
    NAME_MAX_CHARS,
    TEXT_MAX_CHARS,
    TITLE_MAX_CHARS,
)
from .researcher_links import kaken_id_of, researchmap_id_of
from .text_checks import long_text, one_line

MARKET_AREAS = MARKET_AREA_CODES


def utcnow() -> datetime:
    return datetime.now(UTC)  # SQLModel's UTCDateTime stores it as UTC on SQLite and PostgreSQL alike


class _Stored(Protocol):
    id: int | None


def stored_id(row: _Stored) -> int:
    """The id of a row read from or flushed to the database (SQLModel types it optional, for new rows)."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has no id: it was never saved")
    return row.id


class OrgKind(StrEnum):
    university = "university"
    municipality = "municipality"
    company = "company"
    other = "other"


class Role(StrEnum):
    poster = "poster"  # a municipality or SME that posts needs
    researcher = "researcher"
    coordinator = "coordinator"
    admin = "admin"


class ContactVisibility(StrEnum):
    public = "public"
    registered = "registered"  # signed-in users only
    private = "private"


class SeedVisibility(StrEnum):
    public = "public"
    registered = "registered"
    private = "private"  # a draft only its researcher sees; never matched


class NeedVisibility(StrEnum):
    public = "public"
    confidential = "confidential"  # only its poster (and coordinators, admins) see it


class Status(StrEnum):
    active = "active"
    withdrawn = "withdrawn"


class Readiness(StrEnum):
    basic = "基礎研究"
    applied = "応用研究"
    demonstration = "実証段階"
    practical = "実用化段階"


class Collaboration(StrEnum):
    joint = "共同研究"
    contract = "受託研究"
    consultation = "技術相談"
    trial = "実証試験"
    training = "人材育成"


FORBID = SQLModelConfig(extra="forbid", str_strip_whitespace=True)


def prefecture_code_of(value: object) -> str:
    """The code of a prefecture given by code or name; the Japanese UnknownPrefectureError (a ValueError) if none.
    Text is checked first: that error quotes the input, and a lone surrogate in a message breaks pydantic."""
    if isinstance(value, str):
        one_line(value)
    return default_prefectures().get(value).code


def _check_prefecture(value: str | None) -> str | None:
    return None if value is None else prefecture_code_of(value)


def _check_market_areas(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    unknown = [v for v in values if v not in MARKET_AREAS]
    if unknown:
        raise ValueError(f"市場領域 {unknown} は使えません。M1〜M9 で指定してください。")
    return sorted(set(values), key=values.index)


def _check_keywords(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    cleaned = [v.strip() for v in values if v and v.strip()]
    for value in cleaned:
        one_line(value)
    if len(cleaned) > KEYWORDS_MAX or any(len(v) > KEYWORD_MAX_CHARS for v in cleaned):
        raise ValueError(f"キーワードは{KEYWORDS_MAX}個まで、1つ{KEYWORD_MAX_CHARS}文字以内です。")
    return cleaned


# ---- organisations -------------------------------------------------------
class OrganisationBase(SQLModel):
    name: str = Field(min_length=1, max_length=NAME_MAX_CHARS, index=True)
    kind: OrgKind
    prefecture_code: str = Field(max_length=2)
    # 全国地方公共団体コード of the campus (corpora/master/municipalities.csv): a university's distances start there
    municipality_code: str | None = Field(default=None, max_length=6)
    name_en: str | None = Field(default=None, max_length=NAME_MAX_CHARS)
    liaison_office: str | None = Field(default=None, max_length=NAME_MAX_CHARS)
    liaison_url: str | None = Field(default=None, max_length=500)
    liaison_email: str | None = Field(default=None, max_length=254)
    liaison_phone: str | None = Field(default=None, max_length=40)


class OrganisationCreate(OrganisationBase):
    model_config = FORBID
    municipality_code: str | None = Field(default=None, max_length=30)  # a code or a name; stored as the code
    _prefecture = field_validator("prefecture_code", mode="before")(_check_prefecture)
    _text = field_validator("name", "name_en", "liaison_office", "liaison_url", "liaison_email",
                            "liaison_phone")(one_line)

    @field_validator("municipality_code")
    @classmethod
    def _municipality_in_prefecture(cls, value: str | None, info: ValidationInfo) -> str | None:
        prefecture = info.data.get("prefecture_code")  # validated first; absent when it was refused (as a need's)
        return default_places().need_municipality_code(value, prefecture) if prefecture else value


class Organisation(OrganisationBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)


class OrganisationPublic(OrganisationBase):
    id: int


# ---- accounts and tokens -------------------------------------------------
class AccountBase(SQLModel):
    name: str = Field(min_length=1, max_length=NAME_MAX_CHARS)
    role: Role
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id")


class Account(AccountBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)
    disabled: bool = False
    # The university's liaison office (産学連携窓口) is a flag, not a role: an office's staff hold whatever role
    # they work in (researcher, coordinator), and a role would have to be given every route's answer anew.
    # Honoured only on an account of a university organisation (api/introductions.py `is_liaison_of`).
    is_liaison_office: bool = False


class AccountPublic(AccountBase):
    id: int
    researcher_id: int | None = None
    disabled: bool = False
    is_liaison_office: bool = False


class ApiToken(SQLModel, table=True):
    """A bearer token; only its SHA-256 is stored."""

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    label: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None
    expires_at: datetime | None = None  # none: valid until revoked
    last_used_at: datetime | None = None  # written at most once a minute (api/auth.py)


class ApiTokenPublic(SQLModel):
    """What an admin sees of a token (api/tokens.py): never its hash."""

    id: int
    account_id: int
    account_name: str
    role: Role
    label: str | None
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    active: bool  # neither revoked nor expired, and its account is not disabled


# ---- researchers ---------------------------------------------------------
RESEARCHMAP_ID_DOC = "researchmap の ID（https://researchmap.jp/ の後ろの部分。アドレスを送っても ID にして保存する）"
KAKEN_ID_DOC = "KAKEN の研究者番号（8桁）。KAKEN や NRID のページのアドレスを送っても番号にして保存する"


class ResearcherBase(SQLModel):
    name: str = Field(min_length=1, max_length=NAME_MAX_CHARS)
    kana: str | None = Field(default=None, max_length=NAME_MAX_CHARS)
    department: str | None = Field(default=None, max_length=NAME_MAX_CHARS)
    position: str | None = Field(default=None, max_length=50)
    # public pages of the researcher elsewhere (api/researcher_links.py): stored as bare ids, never as addresses
    researchmap_id: str | None = Field(default=None, max_length=64, description=RESEARCHMAP_ID_DOC)
    kaken_id: str | None = Field(default=None, max_length=8, description=KAKEN_ID_DOC)


class ResearcherContact(SQLModel):
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=40)
    email_visibility: ContactVisibility = ContactVisibility.private
    phone_visibility: ContactVisibility = ContactVisibility.private


RESEARCHER_TEXT = ("name", "kana", "department", "position", "email", "phone")


class ResearcherCreate(ResearcherBase, ResearcherContact):
    model_config = FORBID
    organisation_id: int = Field(ge=1, le=ID_MAX)
    _text = field_validator(*RESEARCHER_TEXT)(one_line)
    _researchmap = field_validator("researchmap_id", mode="before")(researchmap_id_of)
    _kaken = field_validator("kaken_id", mode="before")(kaken_id_of)


class ResearcherUpdate(SQLModel):
    model_config = FORBID
    name: str | None = Field(default=None, min_length=1, max_length=NAME_MAX_CHARS)
    kana: str | None = Field(default=None, max_length=NAME_MAX_CHARS)
    department: str | None = Field(default=None, max_length=NAME_MAX_CHARS)
    position: str | None = Field(default=None, max_length=50)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=40)
    email_visibility: ContactVisibility | None = None
    phone_visibility: ContactVisibility | None = None
    receives_introductions: bool | None = None
    researchmap_id: str | None = Field(default=None, max_length=64, description=RESEARCHMAP_ID_DOC)
    kaken_id: str | None = Field(default=None, max_length=8, description=KAKEN_ID_DOC)
    _text = field_validator(*RESEARCHER_TEXT)(one_line)
    _researchmap = field_validator("researchmap_id", mode="before")(researchmap_id_of)
    _kaken = field_validator("kaken_id", mode="before")(kaken_id_of)


class Researcher(ResearcherBase, ResearcherContact, table=True):
    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    account_id: int | None = Field(default=None, foreign_key="account.id", unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    # the researcher opted in to receive introduction requests itself, beside its liaison office (issue 15)
    receives_introductions: bool = False


class ContactPublic(SQLModel):
    """Only the fields this reader may see; the others are absent (null)."""

    email: str | None = None
    phone: str | None = None


class ContactSettings(SQLModel):
    """What the researcher chose: shown back to the researcher and admins only."""

    email_visibility: ContactVisibility = Field(description="メールアドレスの公開範囲")
    phone_visibility: ContactVisibility = Field(description="電話番号の公開範囲")
    receives_introductions: bool = Field(description="紹介依頼を研究者本人も受け取るか")


class ResearcherPublic(ResearcherBase):
    id: int
    organisation_id: int
    contact: ContactPublic = ContactPublic()
    researchmap_url: str | None = Field(default=None, description="researchmap のページ")
    kaken_url: str | None = Field(default=None, description="KAKEN（科研費データベース）での研究者番号の検索")
    settings: ContactSettings | None = Field(default=None, description="連絡先の公開範囲などの設定（本人と管理者だけ）")


# ---- seeds -----------------------------------------------------------------
class SeedBase(SQLModel):
    title: str = Field(min_length=1, max_length=TITLE_MAX_CHARS)
    summary: str = Field(default="", max_length=TEXT_MAX_CHARS)
    keywords: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    market_areas: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    readiness: Readiness | None = None
    visibility: SeedVisibility = SeedVisibility.public


class SeedCreate(SeedBase):
    model_config = FORBID
    # researchers omit it (their own); admins name one
    researcher_id: int | None = Field(default=None, ge=1, le=ID_MAX)
    _keywords = field_validator("keywords")(_check_keywords)
    _areas = field_validator("market_areas")(_check_market_areas)
    _title = field_validator("title")(one_line)
    _summary = field_validator("summary")(long_text)


class SeedUpdate(SQLModel):
    model_config = FORBID
    title: str | None = Field(default=None, min_length=1, max_length=TITLE_MAX_CHARS)
    summary: str | None = Field(default=None, max_length=TEXT_MAX_CHARS)
    keywords: list[str] | None = None
    market_areas: list[str] | None = None
    readiness: Readiness | None = None
    visibility: SeedVisibility | None = None
    _keywords = field_validator("keywords")(_check_keywords)
    _areas = field_validator("market_areas")(_check_market_areas)
    _title = field_validator("title")(one_line)
    _summary = field_validator("summary")(long_text)


class Seed(SeedBase, table=True):
    # a liaison office's own id of a seed in its シーズ集: the key a re-import finds the seed by
    # (api/seed_import_plan.py)
    __table_args__ = (UniqueConstraint("organisation_id", "external_id", name="uq_seed_organisation_external_id"),)
    id: int | None = Field(default=None, primary_key=True)
    researcher_id: int = Field(foreign_key="researcher.id", index=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)  # the university
    external_id: str | None = Field(default=None, max_length=EXTERNAL_ID_MAX_CHARS)  # none: not imported
    status: Status = Status.active
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class SeedPublic(SeedBase):
    id: int
    researcher_id: int
    organisation_id: int
    university: str
    prefecture_code: str
    status: Status
    created_at: datetime
    updated_at: datetime


# ---- needs -----------------------------------------------------------------
class NeedBase(SQLModel):
    title: str = Field(min_length=1, max_length=TITLE_MAX_CHARS)
    description: str = Field(min_length=1, max_length=TEXT_MAX_CHARS)
    prefecture_code: str = Field(max_length=2)
    # 全国地方公共団体コード of where the need is (corpora/master/municipalities.csv), for distances
    municipality_code: str | None = Field(default=None, max_length=6)
    market_areas: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    collaboration: Collaboration | None = None
    visibility: NeedVisibility = NeedVisibility.public


class NeedCreate(NeedBase):
    model_config = FORBID
    municipality_code: str | None = Field(default=None, max_length=30)  # a code or a name; stored as the code
    _prefecture = field_validator("prefecture_code", mode="before")(_check_prefecture)
    _areas = field_validator("market_areas")(_check_market_areas)
    _title = field_validator("title")(one_line)
    _description = field_validator("description")(long_text)

    @field_validator("municipality_code")
    @classmethod
    def _municipality_in_prefecture(cls, value: str | None, info: ValidationInfo) -> str | None:
        prefecture = info.data.get("prefecture_code")  # validated first; absent when it was refused
        return default_places().need_municipality_code(value, prefecture) if prefecture else value


class NeedUpdate(SQLModel):
    model_config = FORBID
    title: str | None = Field(default=None, min_length=1, max_length=TITLE_MAX_CHARS)
    description: str | None = Field(default=None, min_length=1, max_length=TEXT_MAX_CHARS)
    prefecture_code: str | None = None
    municipality_code: str | None = Field(default=None, max_length=30)  # a code or a name; "" clears it
    market_areas: list[str] | None = None
    collaboration: Collaboration | None = None
    visibility: NeedVisibility | None = None
    _prefecture = field_validator("prefecture_code", mode="before")(_check_prefecture)
    _areas = field_validator("market_areas")(_check_market_areas)
    _title = field_validator("title")(one_line)
    _description = field_validator("description")(long_text)


class Need(NeedBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    owner_account_id: int = Field(foreign_key="account.id", index=True)
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id")
    status: Status = Status.active
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class NeedPublic(NeedBase):
    id: int
    organisation_id: int | None
    poster: str | None  # the posting organisation's name
    status: Status
    created_at: datetime
    updated_at: datetime
