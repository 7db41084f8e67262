"""Times as people in Japan read them: one written form, used by the reports and the coordinator's pages.

Stored times are UTC (a naive datetime from SQLite is UTC too); users read Japan time, written one way
everywhere they see it: 「2026年12月3日 21:05（日本時間）」. Machine-readable files (JSON) keep ISO 8601 with +09:00.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

JST = ZoneInfo("Asia/Tokyo")


def as_jst(moment: datetime | str) -> datetime:
    """`moment` (a datetime or an ISO 8601 text; naive means UTC) in Japan time."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(JST)


def now_jst_iso() -> str:
    """Now, as ISO 8601 with +09:00 (what the report's JSON keeps)."""
    return datetime.now(JST).isoformat(timespec="seconds")


def jst_text(moment: datetime | str | None) -> str:
    """「2026年12月3日 21:05（日本時間）」; "" for no time."""
    if moment is None or moment == "":
        return ""
    t = as_jst(moment)
    return f"{t.year}年{t.month}月{t.day}日 {t.hour:02d}:{t.minute:02d}（日本時間）"


def jst_day(moment: datetime | str) -> str:
    """The day in Japan, as 2026-12-03 (what file names carry)."""
    return as_jst(moment).date().isoformat()
