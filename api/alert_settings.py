"""An account's standing-alert setting (on/off and band) and its Atom feed's secret URL, for the API and the pages.

No row means the defaults: alerts off, 「近い」, no feed. The feed secret is shown once, when it is made; the table
keeps only its SHA-256 (as API tokens, api/auth.py), so a leaked database holds no working feed URL, and
rotating replaces the hash: the old URL is unknown (404) from that commit on.
"""

from __future__ import annotations

import secrets

from sqlmodel import Session, col, select

from .alert_models import (
    DEFAULT_LEVEL,
    LEVEL_MEANINGS,
    LEVEL_NAMES,
    MIN_SIMILARITY,
    AlertLevel,
    AlertLevelOut,
    AlertSetting,
    AlertSettingsIn,
    AlertSettingsOut,
    FeedUrlOut,
)
from .auth import hash_token
from .models import Account, stored_id, utcnow

FEED_PREFIX = "mf_"  # tells a feed secret from an API token (mt_…) at a glance
FEED_PATH = "/feeds/{secret}.atom"


def setting_of(session: Session, account: Account) -> AlertSetting:
    """The account's row, or an unsaved one with the defaults."""
    return session.get(AlertSetting, stored_id(account)) or AlertSetting(account_id=stored_id(account))


def level_of(setting: AlertSetting) -> AlertLevel:
    """The stored band; an unknown value (none is ever written) reads as the default rather than failing a write."""
    try:
        return AlertLevel(setting.level)
    except ValueError:
        return DEFAULT_LEVEL


def levels() -> list[AlertLevelOut]:
    return [AlertLevelOut(level=level, label=LEVEL_NAMES[level], min_similarity=MIN_SIMILARITY[level],
                          meaning=LEVEL_MEANINGS[level]) for level in AlertLevel]


def settings_out(session: Session, account: Account) -> AlertSettingsOut:
    setting = setting_of(session, account)
    level = level_of(setting)
    return AlertSettingsOut(enabled=setting.enabled, level=level, label=LEVEL_NAMES[level],
                            min_similarity=MIN_SIMILARITY[level], levels=levels(),
                            has_feed=setting.feed_secret_hash is not None, feed_created_at=setting.feed_created_at)


def save(session: Session, account: Account, body: AlertSettingsIn) -> AlertSettingsOut:
    setting = setting_of(session, account)
    setting.enabled, setting.level, setting.updated_at = body.enabled, body.level.value, utcnow()
    session.add(setting)
    session.commit()
    return settings_out(session, account)


def rotate_feed(session: Session, account: Account, base_url: str) -> FeedUrlOut:
    """A new secret feed URL for the account; the one before it stops working."""
    secret = FEED_PREFIX + secrets.token_urlsafe(32)
    setting = setting_of(session, account)
    setting.feed_secret_hash, setting.feed_created_at = hash_token(secret), utcnow()
    setting.updated_at = setting.feed_created_at
    session.add(setting)
    session.commit()
    return FeedUrlOut(feed_url=base_url.rstrip("/") + FEED_PATH.format(secret=secret),
                      created_at=setting.feed_created_at)


def account_for_feed(session: Session, secret: str) -> Account | None:
    """The enabled account whose current feed secret is `secret`; None for an old, wrong or disabled one."""
    query = select(Account).join(AlertSetting, col(AlertSetting.account_id) == col(Account.id)).where(
        col(AlertSetting.feed_secret_hash) == hash_token(secret), col(Account.disabled).is_(False))
    return session.exec(query).first()
