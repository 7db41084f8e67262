"""The API's sort (総合 / 内容重視) and the two signals on every partner (issue 17)."""

from collections import Counter

from tests.conftest import GOLDEN

API = "/api/v1"


def golden_seed_counts() -> Counter:
    from matcher.corpus import load_corpus

    return Counter(s.university for s in load_corpus(GOLDEN).seeds)


def test_matches_default_to_overall_and_show_both_signals_in_words(client, actors):
    body = client.post(f"{API}/needs/901/matches", json={}, headers=actors.coordinator).json()
    assert body["sort"] == "overall" and body["partners"]
    counts = golden_seed_counts()
    for p in [*body["partners"], *([body["best_in_region"]] if body["best_in_region"] else [])]:
        fit, record = p["signals"]["content_fit"], p["signals"]["track_record"]
        assert fit["band"] in fit["words"] and fit["similarity"] == p["similarity"]
        assert record["words"] == f"登録シーズ {record['seed_count']:,}件"
        assert record["seed_count"] == counts[p["name"]]  # every listed seed of the university, matching or not


def test_content_sort_ranks_by_the_best_seed_alone(client, actors):
    overall = client.post(f"{API}/needs/901/matches", json={"top_k": 10}, headers=actors.coordinator).json()
    content = client.post(f"{API}/needs/901/matches", json={"top_k": 10, "sort": "content"},
                          headers=actors.coordinator).json()
    assert content["sort"] == "content"
    earned = [p for p in content["partners"] if not p["promoted_for_cross_region"]]
    assert [p["score"] for p in earned] == [p["seeds"][0]["score"] for p in earned]  # the best seed's score
    assert [p["score"] for p in earned] == sorted((p["score"] for p in earned), reverse=True)
    # the seed counts do not depend on the sort: they are beside the score, not in it
    by_name = {p["name"]: p["signals"]["track_record"]["seed_count"] for p in overall["partners"]}
    assert all(by_name[p["name"]] == p["signals"]["track_record"]["seed_count"]
               for p in content["partners"] if p["name"] in by_name)


def test_an_unknown_sort_is_refused_in_japanese(client, actors):
    response = client.post(f"{API}/needs/901/matches", json={"sort": "size"}, headers=actors.coordinator)
    assert response.status_code == 422
    assert any(d["field"] == "body.sort" for d in response.json()["error"]["details"])
