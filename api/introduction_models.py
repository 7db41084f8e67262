"""Tables and API shapes of issue 15's collaboration workflow: introduction requests (紹介依頼), feedback on a
match, and in-app notifications. The rules that use them are in api/introductions.py, api/feedback.py and
api/notifications.py.

Each row names the need's region block as it was when the row was written (`region`), so a coordinator's view of
its region (api/introductions.py `coordinator_region`) is one WHERE clause and does not change when a need is
edited later.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import field_validator
from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from .limits import ID_MAX, NAME_MAX_CHARS
from .models import FORBID, utcnow
from .text_checks import long_text, one_line

MESSAGE_MAX = 1000  # a short message, as a first e-mail would be
REASON_MAX = 500
PARTNER_KEY_MAX = 300
PARTNER_LEVELS = ("university", "researcher", "seed")


class IntroductionStatus(StrEnum):
    pending = "pending"  # waiting for the liaison office (or the researcher)
    accepted = "accepted"  # the contact details are shown to the poster
    declined = "declined"


def _known_level(value: str) -> str:
    if value not in PARTNER_LEVELS:
        raise ValueError("level は university・researcher・seed のどれかです。")
    return value


# ---- introduction requests ------------------------------------------------------------------------
class IntroductionCreate(SQLModel):
    model_config = FORBID
    need_id: int = Field(ge=1, le=ID_MAX)
    seed_id: int = Field(ge=1, le=ID_MAX, description="連携先の候補で一致したシーズ（その研究者と大学に依頼が届く）")
    level: str = Field(default="university", description="依頼した候補の単位（university / researcher / seed）")
    message: str = Field(min_length=1, max_length=MESSAGE_MAX, description="依頼の短いメッセージ")
    _message = field_validator("message")(long_text)
    _level = field_validator("level")(_known_level)


class IntroductionAnswer(SQLModel):
    model_config = FORBID
    accept: bool = Field(description="true: 承諾（連絡先を依頼者に示す）／false: 辞退")
    reason: str = Field(min_length=1, max_length=REASON_MAX, description="承諾・辞退の理由（依頼者に示す）")
    _reason = field_validator("reason")(long_text)


class IntroductionRequest(SQLModel, table=True):
    __tablename__ = "introduction_request"

    id: int | None = Field(default=None, primary_key=True)
    need_id: int = Field(foreign_key="need.id", index=True)
    requester_account_id: int = Field(foreign_key="account.id", index=True)
    # whom it goes to: the university's liaison office, and the researcher where it opted in
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    # no foreign key: the request (and its outcome) outlives a researcher's erasure, as the audit log does
    researcher_id: int | None = Field(default=None, index=True)
    seed_id: int | None = None  # the seed the request was made from (none once erased)
    partner_level: str = Field(max_length=20)
    partner_key: str = Field(max_length=PARTNER_KEY_MAX)
    partner_name: str = Field(max_length=NAME_MAX_CHARS * 2)
    region: str = Field(max_length=20, index=True)  # the need's region block when the request was made
    message: str = Field(max_length=MESSAGE_MAX * 2)
    status: str = Field(default=IntroductionStatus.pending.value, max_length=20, index=True)
    reason: str | None = Field(default=None, max_length=REASON_MAX * 2)
    answered_by_account_id: int | None = Field(default=None, foreign_key="account.id")
    created_at: datetime = Field(default_factory=utcnow)
    answered_at: datetime | None = None


class DisclosedContact(SQLModel):
    """What the poster is shown once a request is accepted (and only then)."""

    office: str | None = None
    office_email: str | None = None
    office_phone: str | None = None
    office_url: str | None = None
    researcher: str | None = None
    email: str | None = None
    phone: str | None = None


class IntroductionOut(SQLModel):
    id: int
    need_id: int
    need_title: str
    requester: str  # the posting organisation's name, or the account's
    organisation_id: int
    university: str
    researcher: str | None
    partner_level: str
    partner_key: str
    partner_name: str
    region: str
    message: str
    status: IntroductionStatus
    reason: str | None
    created_at: datetime
    answered_at: datetime | None
    is_mine: bool = Field(description="この利用者が依頼したものか")
    may_answer: bool = Field(
        description="この利用者が承諾・辞退できるか（大学の窓口、または受け取りを選んだ研究者本人）")
    contact: DisclosedContact | None = Field(default=None, description="承諾の後、依頼者にだけ示す連絡先")


# ---- feedback on a match ------------------------------------------------------------------------------
class FeedbackCreate(SQLModel):
    model_config = FORBID
    need_id: int = Field(ge=1, le=ID_MAX)
    level: str = Field(default="university", description="候補の単位（university / researcher / seed）")
    key: str = Field(min_length=1, max_length=PARTNER_KEY_MAX, description="照合結果の候補の key")
    name: str = Field(min_length=1, max_length=NAME_MAX_CHARS * 2, description="候補の名前（表示用）")
    useful: bool = Field(description="true: 役に立った／false: 役に立たなかった")
    reason: str | None = Field(default=None, max_length=REASON_MAX, description="理由（任意）")
    _text = field_validator("key", "name")(one_line)
    _reason = field_validator("reason")(long_text)
    _level = field_validator("level")(_known_level)


class MatchFeedback(SQLModel, table=True):
    """One reader's latest say on one partner of one need: giving it again replaces it. Never read by the ranking
    (matcher/rank.py): it is exported as labels for the benchmark (`matcher-admin export-feedback`) instead."""

    __tablename__ = "match_feedback"
    __table_args__ = (UniqueConstraint("need_id", "account_id", "partner_level", "partner_key",
                                       name="uq_match_feedback_need_account_partner"),)

    id: int | None = Field(default=None, primary_key=True)
    need_id: int = Field(foreign_key="need.id", index=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    partner_level: str = Field(max_length=20)
    partner_key: str = Field(max_length=PARTNER_KEY_MAX)
    partner_name: str = Field(max_length=NAME_MAX_CHARS * 2)
    region: str = Field(max_length=20, index=True)  # the need's region block when the feedback was given
    useful: bool
    reason: str | None = Field(default=None, max_length=REASON_MAX * 2)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class FeedbackOut(SQLModel):
    id: int
    need_id: int
    need_title: str
    partner_level: str
    partner_key: str
    partner_name: str
    region: str
    useful: bool
    reason: str | None
    updated_at: datetime


class PartnerOutcome(SQLModel):
    """One partner's introductions and feedback, counted (a coordinator's aggregate)."""

    partner_level: str
    partner_key: str
    partner_name: str
    accepted: int = 0
    declined: int = 0
    pending: int = 0
    ignored: int = Field(default=0, description="回答のないまま一定の日数が過ぎた紹介依頼")
    useful: int = 0
    not_useful: int = 0


# ---- notifications ------------------------------------------------------------------------------------
class Notification(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    kind: str = Field(max_length=40)  # what it is about: "introduction_requested", …; plain text, as audit actions
    message: str = Field(max_length=500)
    link: str | None = Field(default=None, max_length=300)  # a path on this site
    created_at: datetime = Field(default_factory=utcnow, index=True)
    read_at: datetime | None = None


class NotificationOut(SQLModel):
    id: int
    kind: str
    message: str
    link: str | None
    created_at: datetime
    read: bool


class NotificationPage(SQLModel):
    items: list[NotificationOut]
    unread: int
