"""An account's notifications as an Atom 1.0 feed (RFC 4287), for a feed reader: the standing alerts and every
other notification (introduction requests, their answers), newest first, each entry linking to its page.

Two ways in, the same feed: `GET /api/v1/notifications/feed.atom` with the API token in the Authorization header,
and the secret URL `/feeds/{secret}.atom` for readers that cannot send a header (api/alert_settings.py). Reading
the feed marks nothing read: a reader polls it, and the person has not seen it yet.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from fastapi.responses import Response
from sqlmodel import Session

from . import notifications
from .introduction_models import NotificationOut
from .models import Account, stored_id

ATOM = "http://www.w3.org/2005/Atom"
MEDIA_TYPE = "application/atom+xml"
ENTRIES = 50  # a reader polls; older notifications stay on the notifications page
# ids that never change with the server's address (an entry's id must be permanent: RFC 4287, 4.2.6)
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:sangaku-matcher:notifications")
KIND_NAMES = {"alert_need": "合うニーズ", "alert_seed": "合うシーズ"}  # other kinds: 「お知らせ」

ET.register_namespace("", ATOM)


def _stamp(moment: datetime) -> str:
    """RFC 3339 in UTC, as Atom's dates are."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text is not None:
        element.text = text
    return element


def _entry(feed: ET.Element, item: NotificationOut, base: str) -> None:
    entry = _add(feed, "entry")
    _add(entry, "id", uuid.uuid5(NAMESPACE, f"notification:{item.id}").urn)
    _add(entry, "title", f"{KIND_NAMES.get(item.kind, 'お知らせ')}: {item.message}"[:200])
    _add(entry, "updated", _stamp(item.created_at))
    _add(entry, "link", rel="alternate", type="text/html", href=base + (item.link or "/notifications"))
    _add(entry, "summary", item.message, type="text")
    _add(entry, "category", term=item.kind)


def feed_xml(session: Session, account: Account, base_url: str, self_url: str) -> bytes:
    """The account's feed. `base_url`: where the pages are (entries link there); `self_url`: this feed's address,
    as the reader asked for it."""
    base = base_url.rstrip("/")
    items = notifications.page(session, account, limit=ENTRIES).items
    feed = ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": "ja"})
    _add(feed, "id", uuid.uuid5(NAMESPACE, f"account:{stored_id(account)}").urn)
    _add(feed, "title", f"{account.name} さんへの通知（産学官連携 マッチング）")
    _add(feed, "subtitle", "合うニーズ・シーズのお知らせと紹介依頼の通知。"
                           "メールは送りません（メールサーバーはありません）。")
    # the newest entry's time; a feed without entries is as new as the account
    _add(feed, "updated", _stamp(items[0].created_at if items else account.created_at))
    author = _add(feed, "author")
    _add(author, "name", "産学官連携 ニーズ・シーズ マッチング")
    _add(feed, "link", rel="self", type=MEDIA_TYPE, href=self_url)
    _add(feed, "link", rel="alternate", type="text/html", href=base + "/notifications")
    for item in items:
        _entry(feed, item, base)
    written: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return written


def feed_response(session: Session, account: Account, base_url: str, self_url: str) -> Response:
    # private: a shared cache must never hand one account's feed to another; no-store, as the notifications page
    return Response(feed_xml(session, account, base_url, self_url), media_type=f"{MEDIA_TYPE}; charset=utf-8",
                    headers={"Cache-Control": "private, no-store"})
