"""Issue 15, standing alerts (api/alerts.py), on SQLite and PostgreSQL: a need that fits a researcher's seed within
its band is told once, as a notification and in the Atom feed (by token and by secret URL); one outside the band,
a confidential need or a draft seed is told to no one who may not read it.

The closeness of the golden texts below to the golden seeds (cosine of the need's query vector and the seed's
passage vector, multilingual-e5-small): 稲わら… to seed 1 (高田) 0.911; もみ殻の灰… to seed 1 0.885; カキ… to seed 5
(山本) 0.888; 稲わら… to 山本's seeds 5 and 6 0.82 and 0.81. The bands: とても近い 0.90, 近い 0.875, 関連あり 0.86.
"""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET

import pytest
from sqlmodel import Session, col, delete, select

from api import alerts, usecases
from api.alert_models import AlertSent, AlertSetting
from api.introduction_models import Notification
from api.models import Need, Researcher, Seed
from api.service import passage_text
from matcher.index import fingerprint

API = "/api/v1"
ATOM = "{http://www.w3.org/2005/Atom}"
STRAW = {"title": "稲わらともみ殻を熱源にしたい",
         "description": "市内の水田から出る稲わらともみ殻の処分に困っている。ガス化して農業用ハウスの熱源にしたい。",
         "prefecture_code": "15"}
ASH = {"title": "もみ殻の灰の活用", "description": "もみ殻を燃やした灰からシリカを取り出して売りたい。",
       "prefecture_code": "15"}
OYSTER = {"title": "カキの養殖の効率化", "description": "瀬戸内海のカキ養殖で、成長の早い品種を育てたい。",
          "prefecture_code": "34"}


def set_alerts(client, headers, enabled: bool = True, level: str = "close") -> dict:
    response = client.put(f"{API}/alerts", json={"enabled": enabled, "level": level}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def told(client, headers, kind: str = "alert_need") -> list[dict]:
    items = client.get(f"{API}/notifications?limit=200", headers=headers).json()["items"]
    return [n for n in items if n["kind"] == kind]


def post_need(client, headers, body: dict) -> int:
    response = client.post(f"{API}/needs", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


@pytest.fixture(autouse=True)
def alerts_off(client, actors):
    """Each test starts with every actor's alerts off; the rows told before stay (as in a real database)."""
    for headers in (actors.researcher, actors.other_researcher, actors.poster, actors.other_poster, actors.coordinator):
        set_alerts(client, headers, enabled=False)


def test_a_fitting_new_need_is_told_once_and_a_poor_fit_not(client, actors):
    set_alerts(client, actors.researcher, level="close")
    set_alerts(client, actors.other_researcher, level="close")
    before, other_before = len(told(client, actors.researcher)), len(told(client, actors.other_researcher))
    need_id = post_need(client, actors.poster, STRAW)
    mine = told(client, actors.researcher)
    assert len(mine) == before + 1
    assert mine[0]["link"] == f"/needs/{need_id}" and not mine[0]["read"]
    assert "稲わらともみ殻を熱源にしたい" in mine[0]["message"] and "熱分解ガス化" in mine[0]["message"]
    assert "とても近い" in mine[0]["message"]
    assert len(told(client, actors.other_researcher)) == other_before  # 山本's seeds are 0.82 and 0.81 away

    # a PATCH that changes nothing that matters, and one that changes the text within the band: told already
    assert client.patch(f"{API}/needs/{need_id}", json={"collaboration": "共同研究"},
                        headers=actors.poster).status_code == 200
    assert client.patch(f"{API}/needs/{need_id}", json={"description": STRAW["description"] + "冬の暖房にも。"},
                        headers=actors.poster).status_code == 200
    assert len(told(client, actors.researcher)) == before + 1


def test_the_band_is_honoured(client, actors):
    set_alerts(client, actors.researcher, level="very_close")
    before = len(told(client, actors.researcher))
    need_id = post_need(client, actors.poster, ASH)  # 0.885 to seed 1: 近い, not とても近い
    assert len(told(client, actors.researcher)) == before
    set_alerts(client, actors.researcher, level="close")
    assert client.patch(f"{API}/needs/{need_id}", json={"collaboration": "技術相談"},
                        headers=actors.poster).status_code == 200  # the next write of the need, in the new band
    mine = told(client, actors.researcher)
    assert len(mine) == before + 1 and mine[0]["link"] == f"/needs/{need_id}" and "近い" in mine[0]["message"]

    set_alerts(client, actors.other_researcher, level="very_close")
    other_before = len(told(client, actors.other_researcher))
    post_need(client, actors.poster, OYSTER)  # 0.888 to seed 5
    assert len(told(client, actors.other_researcher)) == other_before
    set_alerts(client, actors.other_researcher, enabled=False, level="close")  # off: nothing, whatever the band
    post_need(client, actors.other_poster, {**OYSTER, "title": "カキの成長の早い品種"})
    assert len(told(client, actors.other_researcher)) == other_before


def test_a_confidential_need_reaches_no_researcher_until_it_is_public(client, actors):
    set_alerts(client, actors.researcher, level="related")
    before = len(told(client, actors.researcher))
    secret = {**STRAW, "title": "非公開の熱源化計画 ZQXCONF", "visibility": "confidential"}
    need_id = post_need(client, actors.poster, secret)
    assert client.patch(f"{API}/needs/{need_id}", json={"collaboration": "受託研究"},
                        headers=actors.poster).status_code == 200
    assert len(told(client, actors.researcher)) == before
    feed = client.get(f"{API}/notifications/feed.atom", headers=actors.researcher).text
    assert "ZQXCONF" not in feed
    assert client.patch(f"{API}/needs/{need_id}", json={"visibility": "public"},
                        headers=actors.poster).status_code == 200  # newly public: now it may be read, and told
    mine = told(client, actors.researcher)
    assert len(mine) == before + 1 and "ZQXCONF" in mine[0]["message"]
    # withdrawn: told to no one, even were the pair never told before
    assert client.delete(f"{API}/needs/{need_id}", headers=actors.poster).status_code == 200
    with Session(client.app.state.db) as session:
        session.exec(delete(AlertSent).where(col(AlertSent.need_id) == need_id))
        session.commit()
        need = session.get_one(Need, need_id)
        assert alerts.after_write(session, client.app.state.service.encoder.name, [need]) == 0


def test_a_new_seed_is_told_to_the_poster_but_not_while_it_is_a_draft(client, actors):
    set_alerts(client, actors.poster, level="close")
    need_id = post_need(client, actors.poster, {**STRAW, "title": "もみ殻ガス化の熱を園芸ハウスへ"})
    before = len(told(client, actors.poster, "alert_seed"))
    draft = {"title": "稲わらのガス化による園芸ハウスの加温 ZQXDRAFT",
             "summary": "稲わらやもみ殻を小型炉でガス化し、園芸ハウスの熱源にする。ZQXDRAFT",
             "keywords": ["ガス化", "稲わら"], "visibility": "private"}
    made = client.post(f"{API}/seeds", json=draft, headers=actors.other_researcher)
    assert made.status_code == 201, made.text
    seed_id = made.json()["id"]
    assert len(told(client, actors.poster, "alert_seed")) == before
    assert "ZQXDRAFT" not in client.get(f"{API}/notifications/feed.atom", headers=actors.poster).text
    assert client.patch(f"{API}/seeds/{seed_id}", json={"visibility": "public"},
                        headers=actors.other_researcher).status_code == 200
    mine = told(client, actors.poster, "alert_seed")
    assert len(mine) == before + 1
    assert mine[0]["link"] == f"/seeds/{seed_id}" and "広島大学" in mine[0]["message"]
    with Session(client.app.state.db) as session:
        pair = session.exec(select(AlertSent).where(AlertSent.need_id == need_id, AlertSent.seed_id == seed_id)).one()
        assert pair.similarity >= 0.875


def test_two_workers_computing_the_same_pair_tell_it_once(client, actors):
    """The dedupe is the database's: `after_write` run again for the same need (as a second worker process
    following the same write would) inserts nothing and notifies no one."""
    set_alerts(client, actors.researcher, level="close")
    need_id = post_need(client, actors.poster, {**STRAW, "title": "もみ殻の熱源化（二重の確認）"})
    before = len(told(client, actors.researcher))
    model_id = client.app.state.service.encoder.name
    with Session(client.app.state.db) as session:
        need = session.get_one(Need, need_id)
        assert alerts.after_write(session, model_id, [need]) == 0
    with Session(client.app.state.db) as session:
        session.exec(select(AlertSent).where(AlertSent.need_id == need_id)).one()  # the pair, once
    assert len(told(client, actors.researcher)) == before


def test_two_workers_at_once_tell_a_pair_once(client, actors):
    """Two sessions computing the same need's alerts at the same moment (two worker processes): the unique key
    lets one insert the pair; the other's insert does nothing (PostgreSQL: waits for the first, then nothing)."""
    set_alerts(client, actors.researcher, level="close")
    need_id = post_need(client, actors.poster, {**STRAW, "title": "もみ殻の熱源化（同時の確認）"})
    with Session(client.app.state.db) as session:  # as if the write's own computation had not run yet
        session.exec(delete(AlertSent).where(col(AlertSent.need_id) == need_id))
        session.exec(delete(Notification).where(col(Notification.link) == f"/needs/{need_id}"))
        session.commit()
    model_id = client.app.state.service.encoder.name
    start, results = threading.Barrier(2), []

    def worker() -> None:
        with Session(client.app.state.db) as session:
            need = session.get_one(Need, need_id)
            start.wait()
            results.append(alerts.after_write(session, model_id, [need]))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == [0, 1]
    assert [n["link"] for n in told(client, actors.researcher)].count(f"/needs/{need_id}") == 1


def test_imported_seeds_are_told_to_the_poster(client, actors):
    """The bulk import's write (usecases.save_imported_seeds, api/seed_import_run.py) tells as one seed's does."""
    set_alerts(client, actors.poster, level="close")
    post_need(client, actors.poster, {**OYSTER, "title": "カキの育種の相談（一括登録の確認）"})
    before = len(told(client, actors.poster, "alert_seed"))
    service = client.app.state.service
    model_id = service.encoder.name
    with Session(client.app.state.db) as session:
        yamamoto = session.get_one(Researcher, actors.other_researcher_id)
        seed = Seed(title="カキの耐病性育種（一括登録）",
                    summary="カキのゲノム情報から耐病性と成長の遺伝子を探し、育種に使う。", keywords=["カキ", "育種"],
                    researcher_id=actors.other_researcher_id,
                    organisation_id=yamamoto.organisation_id)
        text = passage_text(seed)
        vectors = {fingerprint(text, model_id): service.encoder.encode_passages([text])[0]}
        usecases.save_imported_seeds(session, service, [seed], vectors, model_id)
        seed_id = seed.id
    mine = told(client, actors.poster, "alert_seed")
    assert len(mine) == before + 1 and mine[0]["link"] == f"/seeds/{seed_id}"


def parse_feed(text: str) -> ET.Element:
    feed = ET.fromstring(text.encode("utf-8"))
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):  # RFC 4287, 4.1.1
        assert (feed.findtext(f"{ATOM}{required}") or "").strip(), required
    assert feed.find(f"{ATOM}author/{ATOM}name") is not None
    links = {link.get("rel"): link.get("href") for link in feed.findall(f"{ATOM}link")}
    assert links["self"] and links["alternate"].endswith("/notifications")
    for entry in feed.findall(f"{ATOM}entry"):
        for required in ("id", "title", "updated"):  # RFC 4287, 4.1.2
            assert (entry.findtext(f"{ATOM}{required}") or "").strip(), required
        assert entry.findtext(f"{ATOM}id").startswith("urn:uuid:")
        assert entry.find(f"{ATOM}link").get("href").startswith("http://testserver/")
    return feed


def test_the_feed_by_token_and_by_secret_url_and_rotation(client, actors):
    set_alerts(client, actors.researcher, level="close")
    need_id = post_need(client, actors.poster, {**STRAW, "title": "フィードの確認: 稲わらの熱源化"})
    assert client.get(f"{API}/notifications/feed.atom").status_code == 401
    by_token = client.get(f"{API}/notifications/feed.atom", headers=actors.researcher)
    assert by_token.status_code == 200 and by_token.headers["content-type"].startswith("application/atom+xml")
    feed = parse_feed(by_token.text)
    hrefs = [e.find(f"{ATOM}link").get("href") for e in feed.findall(f"{ATOM}entry")]
    assert f"http://testserver/needs/{need_id}" in hrefs
    assert client.get(f"{API}/alerts", headers=actors.researcher).json()["mail"] is False

    first = client.post(f"{API}/alerts/feed", headers=actors.researcher).json()["feed_url"]
    path = first.removeprefix("http://testserver")
    by_secret = client.get(path)
    assert by_secret.status_code == 200
    entries = parse_feed(by_secret.text).findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}id") for e in entries] == [e.findtext(f"{ATOM}id") for e in feed.findall(f"{ATOM}entry")]
    settings = client.get(f"{API}/alerts", headers=actors.researcher).json()
    assert settings["has_feed"] and settings["feed_created_at"]
    secret = path.removeprefix("/feeds/").removesuffix(".atom")
    with Session(client.app.state.db) as session:  # only its hash is stored
        hashes = [row.feed_secret_hash for row in session.exec(select(AlertSetting)).all()]
        assert secret not in hashes and all(h is None or len(h) == 64 for h in hashes)

    second = client.post(f"{API}/alerts/feed", headers=actors.researcher).json()["feed_url"]
    assert second != first
    gone = client.get(path)
    assert gone.status_code == 404 and "無効" in gone.json()["error"]["message"]
    assert client.get(second.removeprefix("http://testserver")).status_code == 200
    assert client.get("/feeds/mf_nothing-like-it.atom").status_code == 404
    # another account's secret URL is its own feed, never this one's
    other = client.post(f"{API}/alerts/feed", headers=actors.other_researcher).json()["feed_url"]
    assert f"/needs/{need_id}" not in client.get(other.removeprefix("http://testserver")).text


def test_the_settings_are_validated_in_japanese(client, actors):
    bad = client.put(f"{API}/alerts", json={"enabled": True, "level": "0.5"}, headers=actors.researcher)
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"].endswith("level")
    saved = set_alerts(client, actors.researcher, level="related")
    assert saved["label"] == "関連あり" and saved["min_similarity"] == 0.86
    assert [c["label"] for c in saved["levels"]] == ["とても近い", "近い", "関連あり"]
    assert client.get(f"{API}/alerts").status_code == 401
