"""Whole flows over HTTP: a poster's, a researcher's, and reverse matching. Run on SQLite and PostgreSQL."""

API = "/api/v1"

NEED = {
    "title": "稲わら・もみ殻のエネルギー利用",
    "description": "市内の水田から出る稲わらともみ殻の処分に困っています。ガス化して農業ハウスの熱源にしたい。",
    "prefecture_code": "15",
    "market_areas": ["M4"],
    "collaboration": "共同研究",
}


def test_health(client):
    assert client.get("/livez").json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.json()
    checks = ready.json()["checks"]
    assert {k: checks[k] for k in ("database", "index_loaded", "index_following")} == dict.fromkeys(
        ("database", "index_loaded", "index_following"), True)
    assert checks["lag"] == 0 and checks["applied_sequence"] == checks["latest_sequence"]


def test_poster_flow(client, actors):
    created = client.post(f"{API}/needs", json=NEED, headers=actors.poster)
    assert created.status_code == 201, created.json()
    need = created.json()
    assert need["poster"] == "テスト市 産業振興課" and need["prefecture_code"] == "15"
    match = need["match"]
    first = match["partners"][0]
    assert first["university"] == "長岡技術科学大学"
    assert first["contact"]["office"].startswith("産学連携窓口")
    assert first["cross_region"] is False and first["prefecture"]["code"] == "15"
    assert "もみ殻" in first["shared_terms"]  # as the need writes it (the lemma is 籾殻)
    assert match["best_in_region"]["university"] == "長岡技術科学大学"
    assert any(p["cross_region"] for p in match["partners"])
    highlighted = {NEED["title"] + "\n" + NEED["description"]}.pop()
    assert "もみ殻" in {highlighted[h["start"]:h["end"]] for h in match["need"]["highlights"]}

    # re-run with filters
    url = f"{API}/needs/{need['id']}/matches"
    outside = client.post(url, json={"scope": "cross-region", "level": "researcher", "top_k": 3},
                          headers=actors.poster).json()
    assert len(outside["partners"]) <= 3
    assert all(p["cross_region"] and p["researcher"] for p in outside["partners"])
    no_kanto = client.post(url, json={"exclude_regions": ["関東"]}, headers=actors.poster).json()
    assert "群馬大学" not in [p["university"] for p in no_kanto["partners"]]
    only_22 = client.post(url, json={"include_prefectures": ["静岡県"], "level": "seed"}, headers=actors.poster).json()
    assert {p["prefecture"]["code"] for p in only_22["partners"]} == {"22"}
    assert only_22["partners"][0]["seeds"][0]["seed_id"] == 12  # もみ殻シリカ
    areas = client.post(url, json={"market_areas": ["M9"]}, headers=actors.poster).json()
    assert areas["partners"] == []  # no golden seed carries M9

    mine = client.get(f"{API}/needs", params={"mine": True}, headers=actors.poster).json()
    assert [n["id"] for n in mine["items"]] == [need["id"]]

    changed = client.patch(f"{API}/needs/{need['id']}", json={"title": "もみ殻の燃料化"}, headers=actors.poster)
    assert changed.status_code == 200 and changed.json()["title"] == "もみ殻の燃料化"
    withdrawn = client.delete(f"{API}/needs/{need['id']}", headers=actors.poster)
    assert withdrawn.json()["status"] == "withdrawn"
    assert client.get("/readyz").status_code == 200
    # a withdrawn need no longer shows up for researchers
    fits = client.get(f"{API}/seeds/1/needs", headers=actors.researcher).json()
    assert need["id"] not in [h["need_id"] for h in fits]


def test_researcher_flow(client, actors):
    me = client.get(f"{API}/me", headers=actors.researcher).json()
    assert me["role"] == "researcher" and me["researcher_id"] == actors.researcher_id
    seed = {"title": "茶殻を混ぜた消臭不織布", "summary": "緑茶の茶殻を不織布に混ぜ、消臭シートにする。",
            "keywords": ["茶殻", "消臭"], "market_areas": ["M1"], "readiness": "応用研究"}
    created = client.post(f"{API}/seeds", json=seed, headers=actors.researcher)
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["university"] == "長岡技術科学大学" and body["researcher_id"] == actors.researcher_id

    need = client.post(f"{API}/needs", json={"title": "茶殻の再利用",
                                              "description": "工場で出る茶殻を消臭製品にしたい。",
                                              "prefecture_code": "22"}, headers=actors.other_poster).json()
    seeds_found = client.post(f"{API}/needs/{need['id']}/matches", json={"level": "seed", "top_k": 3},
                              headers=actors.other_poster).json()
    assert seeds_found["partners"][0]["seeds"][0]["seed_id"] == body["id"]

    fits = client.get(f"{API}/seeds/{body['id']}/needs", headers=actors.researcher)
    assert fits.status_code == 200
    assert fits.json()[0]["need_id"] == need["id"]

    client.patch(f"{API}/seeds/{body['id']}", json={"visibility": "private"}, headers=actors.researcher)
    hidden = client.post(f"{API}/needs/{need['id']}/matches", json={"level": "seed"},
                         headers=actors.other_poster).json()
    assert body["id"] not in [p["seeds"][0]["seed_id"] for p in hidden["partners"]]
    assert client.get(f"{API}/seeds/{body['id']}", headers=actors.other_poster).status_code == 404
    assert client.get(f"{API}/seeds/{body['id']}", headers=actors.researcher).status_code == 200

    client.patch(f"{API}/seeds/{body['id']}", json={"visibility": "public"}, headers=actors.researcher)
    withdrawn = client.delete(f"{API}/seeds/{body['id']}", headers=actors.researcher).json()
    assert withdrawn["status"] == "withdrawn"
    after = client.post(f"{API}/needs/{need['id']}/matches", json={"level": "seed"}, headers=actors.other_poster).json()
    assert body["id"] not in [p["seeds"][0]["seed_id"] for p in after["partners"]]
    mine = client.get(f"{API}/seeds", params={"mine": True}, headers=actors.researcher).json()
    assert body["id"] in [s["id"] for s in mine["items"]]
    assert client.get("/readyz").status_code == 200


def test_reverse_matching_respects_confidentiality(client, actors):
    # golden need 905 is confidential and about fermentation-based drug production (seed 10's topic)
    researcher_view = client.get(f"{API}/seeds/10/needs", headers=actors.coordinator).json()
    assert researcher_view[0]["need_id"] == 905  # coordinators see confidential needs
    assert client.get(f"{API}/needs/905", headers=actors.poster).status_code == 404
    assert client.get(f"{API}/needs/905", headers=actors.coordinator).status_code == 200
    listed = client.get(f"{API}/needs", headers=actors.poster).json()
    assert 905 not in [n["id"] for n in listed["items"]]
    fits = client.get(f"{API}/seeds/8/needs", headers=actors.admin).json()
    assert fits[0]["need_id"] == 903


def test_researcher_contact_visibility_per_field(client, actors):
    url = f"{API}/researchers/{actors.other_researcher_id}"
    client.patch(url, json={"email": "yamamoto@example.ac.jp", "phone": "000-0000-0000"},
                 headers=actors.other_researcher)
    private = client.get(url, headers=actors.poster).json()["contact"]
    assert private == {"email": None, "phone": None}  # private by default (APPI consent)
    client.patch(url, json={"email_visibility": "registered"}, headers=actors.other_researcher)
    shown = client.get(url, headers=actors.poster).json()["contact"]
    assert shown == {"email": "yamamoto@example.ac.jp", "phone": None}
    assert client.get(url, headers=actors.other_researcher).json()["contact"]["phone"] == "000-0000-0000"
    # the contact shown in a match result follows the same rule
    result = client.post(f"{API}/needs", json={"title": "カキの品種改良", "description": "ゲノムでカキの成長を早めたい",
                                                "prefecture_code": "34"}, headers=actors.other_poster).json()
    researchers = [h["researcher"] for p in result["match"]["partners"] for h in p["seeds"] if h["researcher"]]
    yamamoto = next(r for r in researchers if r["id"] == actors.other_researcher_id)
    assert yamamoto["contact"] == {"email": "yamamoto@example.ac.jp", "phone": None}


def test_pagination_bounds(client, actors):
    page = client.get(f"{API}/seeds", params={"limit": 5, "offset": 0}, headers=actors.coordinator).json()
    assert len(page["items"]) == 5 and page["total"] >= 12
    second = client.get(f"{API}/seeds", params={"limit": 5, "offset": 5}, headers=actors.coordinator).json()
    assert not {s["id"] for s in page["items"]} & {s["id"] for s in second["items"]}
    assert client.get(f"{API}/seeds", params={"limit": 201}, headers=actors.coordinator).status_code == 422
    assert client.get(f"{API}/needs", params={"offset": -1}, headers=actors.coordinator).status_code == 422
