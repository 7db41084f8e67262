"""Issue 15, standing alerts on the pages (TestClient): the settings page saves what the API reads back, refuses a
band it did not offer in Japanese, and shows a new feed URL once, which the next rotation ends."""

from __future__ import annotations

import re

from .conftest import sign_in

FEED_URL = re.compile(r'<code id="feed-url">(http://testserver/feeds/[^<]+)</code>')


def test_the_settings_page_saves_refuses_and_rotates(page_client, page_actors):
    csrf = sign_in(page_client, page_actors.poster)
    shown = page_client.get("/alerts")
    assert shown.status_code == 200 and "メールサーバーがありません" in shown.text
    assert 'href="/alerts"' in page_client.get("/notifications").text  # reached from the notifications page too

    bad = page_client.post("/alerts", data={"csrf": csrf, "enabled": "yes", "level": "0.5"})
    assert bad.status_code == 422 and "「とても近い」「近い」「関連あり」から選んでください" in bad.text
    saved = page_client.post("/alerts", data={"csrf": csrf, "enabled": "yes", "level": "very_close"},
                             follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == "/alerts?saved=1"
    api = page_client.get("/api/v1/alerts", headers=page_actors.poster).json()
    assert api["enabled"] and api["level"] == "very_close" and api["min_similarity"] == 0.9

    first = page_client.post("/alerts/feed", data={"csrf": csrf})
    url = FEED_URL.search(first.text).group(1)
    assert page_client.get(url.removeprefix("http://testserver")).status_code == 200
    again = page_client.get("/alerts").text
    assert url not in again and "作成済み" in again  # shown once: the server keeps only its hash
    second = FEED_URL.search(page_client.post("/alerts/feed", data={"csrf": csrf}).text).group(1)
    assert second != url and page_client.get(url.removeprefix("http://testserver")).status_code == 404
    assert page_client.post("/alerts/feed", data={"csrf": "wrong"}).status_code == 403
