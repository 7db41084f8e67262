"""Tables and API shapes of standing alerts (issue 15): an account's alert setting and feed secret, and the pairs
already alerted. The rules that use them are in api/alerts.py (which pairs fit) and api/alert_feed.py (the feed).

The threshold is a closeness band, not a number the user types. Its numbers are the cosine of the need's query
vector and the seed's passage vector, the 「内容の近さ」 every results page shows (matcher/results.py
CLOSENESS_BANDS). Why that and not the engine's fused score (matcher/rank.py): the fused score is min–max
normalised within one query's candidates, so its top is near 1 for every need, however poor, and a threshold on it
would alert for every new need; the cosine is one scale for every need and every seed (api/score_docs.py
SIMILARITY), so 「近い」 in an alert means what it means on the results page.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from matcher.results import CLOSENESS_BANDS, LOWEST_BAND

from .models import FORBID, utcnow


class AlertLevel(StrEnum):
    very_close = "very_close"
    close = "close"
    related = "related"


# 関連あり has no floor on the pages (it is everything below 近い); an alert needs one. On the demo (121 needs ×
# 476 seeds, every pair, 2026-12-03) the cosine's median is 0.836 and its 90th percentile 0.859; a pair reaches
# 0.85 in 21% of cases (a seed would hear of one new need in five: noise), 0.86 in about 10%, 近い (0.875) in 2.1%
# (a seed hears of 2.6 of the 121 needs), とても近い (0.90) in 0.3%. 0.86 keeps 関連あり to the closest tenth of
# the pairs, still above the weakest best seeds the results page shows (5th percentile 0.847, matcher/results.py).
RELATED_FLOOR = 0.86
MIN_SIMILARITY: dict[AlertLevel, float] = {AlertLevel.very_close: CLOSENESS_BANDS[0][0],
                                           AlertLevel.close: CLOSENESS_BANDS[1][0],
                                           AlertLevel.related: RELATED_FLOOR}
LEVEL_NAMES: dict[AlertLevel, str] = {AlertLevel.very_close: CLOSENESS_BANDS[0][1],
                                      AlertLevel.close: CLOSENESS_BANDS[1][1], AlertLevel.related: LOWEST_BAND}
LEVEL_MEANINGS: dict[AlertLevel, str] = {
    AlertLevel.very_close: "主題そのものが重なるものだけ（件数は少なめ）",
    AlertLevel.close: "同じ分野で近い課題を扱うもの（結果の画面の「近い」以上）",
    AlertLevel.related: "分野の一部が重なるものまで（件数は多め）",
}
DEFAULT_LEVEL = AlertLevel.close


class AlertSetting(SQLModel, table=True):
    """One account's standing alert: on or off, its band, and its Atom feed's secret (only its SHA-256)."""

    __tablename__ = "alert_setting"

    account_id: int = Field(primary_key=True, foreign_key="account.id")
    enabled: bool = False
    level: str = Field(default=DEFAULT_LEVEL.value, max_length=20)
    # the secret of /feeds/{secret}.atom, hashed as API tokens are: the database never holds a usable URL, and
    # rotating replaces the hash, so the old URL answers 404 at once
    feed_secret_hash: str | None = Field(default=None, max_length=64, unique=True)
    feed_created_at: datetime | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class AlertSent(SQLModel, table=True):
    """A (account, need, seed) pair already alerted: the unique key makes it at most once, whichever worker
    process computes it first (the others' inserts do nothing).

    need_id and seed_id name no foreign key: a researcher's erasure deletes its seeds (api/usecases.py), and the
    record that a pair was told must neither block that nor be told again."""

    __tablename__ = "alert_sent"
    __table_args__ = (UniqueConstraint("account_id", "need_id", "seed_id", name="uq_alert_sent_account_need_seed"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    need_id: int
    seed_id: int
    similarity: float
    created_at: datetime = Field(default_factory=utcnow)


# ---- API shapes ---------------------------------------------------------------------------------------
class AlertSettingsIn(SQLModel):
    model_config = FORBID
    enabled: bool = Field(description="合うニーズ・シーズが現れたら知らせるか")
    level: AlertLevel = Field(default=DEFAULT_LEVEL, description=(
        "どこまで近ければ知らせるか: very_close（とても近い）／close（近い。既定）／related（関連あり）"))


class AlertLevelOut(SQLModel):
    level: AlertLevel = Field(description="選べる知らせる近さ（very_close / close / related）")
    label: str = Field(description="画面での名前（とても近い・近い・関連あり）")
    min_similarity: float = Field(description="この近さで知らせる内容の近さ（コサイン類似度）の下限")
    meaning: str = Field(description="何が届くかの説明")


class AlertSettingsOut(SQLModel):
    enabled: bool = Field(description="合うニーズ・シーズが現れたら知らせるか")
    level: AlertLevel = Field(description="いま選んでいる知らせる近さ")
    label: str = Field(description="いま選んでいる知らせる近さの画面での名前")
    min_similarity: float = Field(description="いま選んでいる近さの、内容の近さ（コサイン類似度）の下限")
    levels: list[AlertLevelOut] = Field(description="選べる知らせる近さの一覧（近い順）")
    has_feed: bool = Field(description="秘密の URL の Atom フィードを作ってあるか（URL そのものは作った時にだけ返す）")
    feed_created_at: datetime | None = Field(default=None, description=(
        "いまのフィードの URL を作った日時（ISO 8601、UTC。作っていなければ null）"))
    mail: bool = Field(default=False, description="メールでも届くか（メールサーバーがないので、いまは常に false）")


class FeedUrlOut(SQLModel):
    feed_url: str = Field(description=(
        "新しい Atom フィードの秘密の URL。この応答でだけ返す（保存するのはハッシュだけ）。前の URL は使えなくなる"))
    created_at: datetime = Field(description="この URL を作った日時（ISO 8601、UTC）")
