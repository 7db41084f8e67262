import numpy as np

from matcher.lexical import BM25Index


def make():
    index = BM25Index()
    index.upsert_many([(10, ["稲藁", "ガス", "発電"]), (20, ["ガス", "燃料"]), (30, ["観光", "温泉"])])
    return index


def test_ranks_by_shared_rare_terms():
    ids, scores = make().search(["稲藁", "ガス"], 10)
    assert ids.tolist() == [10, 20]
    assert scores[0] > scores[1] > 0


def test_documents_without_shared_terms_are_left_out():
    ids, _ = make().search(["観光"], 10)
    assert ids.tolist() == [30]
    ids, _ = make().search(["存在しない語"], 10)
    assert ids.size == 0


def test_update_and_delete_change_results():
    index = make()
    index.upsert(30, ["ガス", "稲藁", "稲藁"])
    ids, _ = index.search(["稲藁"], 10)
    assert set(ids.tolist()) == {10, 30}
    assert index.delete(10) and not index.delete(10)
    ids, _ = index.search(["稲藁"], 10)
    assert ids.tolist() == [30]


def test_allowed_ids_restrict_the_search():
    ids, _ = make().search(["ガス"], 10, allowed=np.array([20]))
    assert ids.tolist() == [20]


def test_state_round_trip_scores_identically():
    index = make()
    again = BM25Index.from_state(index.to_state())
    query, ids = ["ガス", "温泉"], [10, 20, 30]
    np.testing.assert_allclose(index.score_ids(query, ids), again.score_ids(query, ids))


def test_idf_is_higher_for_rarer_terms():
    index = make()
    assert index.idf("稲藁") > index.idf("ガス") > 0
    assert index.idf("未知") == 0
