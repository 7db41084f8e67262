"""The learned partner ranker (issue 17): features, fitting, the two signals, folds, cross-validation and the
decision. Synthetic data only: nothing here embeds more than a few short texts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from matcher.rank import AGGREGATIONS, Bounds, SeedScore
from matcher.ranker.cv import LEARNED, POPULARITY, Spread, cross_validate, project_folds
from matcher.ranker.dataset import JudgedNeed
from matcher.ranker.decision import decide
from matcher.ranker.features import FEATURES, PartnerFeatures, partner_features
from matcher.ranker.model import LinearRanker
from matcher.ranker.train import fit_pairwise
from matcher.records import Seed

BOUNDS = (Bounds(0.80, 0.90), Bounds(0.0, 10.0))


def hits(university, scores):
    """Candidate seeds of one partner, (fused, cosine, bm25) each, best fused first."""
    rows = sorted(scores, reverse=True)
    return [SeedScore(Seed(id=i, title=f"{university}{i}", university=university), *row) for i, row in enumerate(rows)]


def features_of(rows: dict[str, list[float]]) -> PartnerFeatures:
    """A need's partners with the given values of FEATURES (missing ones 0)."""
    keys = sorted(rows)
    values = np.zeros((len(keys), len(FEATURES)))
    for i, key in enumerate(keys):
        values[i, : len(rows[key])] = rows[key]
    return PartnerFeatures(keys, values)


# ---- features ------------------------------------------------------------
def test_fused_aggregates_are_the_engine_rules_and_counts_see_the_whole_partner():
    scores = [(0.9, 0.88, 6.0), (0.6, 0.85, 2.0), (0.3, 0.83, 0.0)]
    groups = {"A大学": hits("A大学", scores), "B大学": hits("B大学", [(0.5, 0.82, 1.0)])}
    features = partner_features(groups, BOUNDS, {"A大学": 30, "B大学": 1})
    assert features.keys == ["A大学", "B大学"]
    fused = [0.9, 0.6, 0.3]
    for name, rule in (("fused_max", "max"), ("fused_top3", "top3"), ("fused_top10", "top10"),
                       ("fused_rms10", "rms10")):
        assert features.column(name)[0] == pytest.approx(AGGREGATIONS[rule](fused))
    assert features.column("fused_sum_log")[0] == pytest.approx(math.log1p(1.8))
    assert features.column("dense_max")[0] == pytest.approx(0.8)  # (0.88 − 0.80) / (0.90 − 0.80)
    assert features.column("bm25_max")[0] == pytest.approx(0.6)
    assert features.column("seeds_cos86_log")[0] == pytest.approx(math.log1p(1))  # only 0.88 reaches 0.86
    assert features.column("seeds_cos84_log")[0] == pytest.approx(math.log1p(2))
    assert features.column("candidate_share").tolist() == pytest.approx([3 / 30, 1.0])
    assert features.column("seed_count_log").tolist() == pytest.approx([math.log(30), 0.0])
    assert features.column("in_region").tolist() == [0.0, 0.0]  # no place given: place features stay 0


def test_place_features_come_from_the_callers_place_and_counts_never_fall_below_the_matches():
    groups = {"A大学": hits("A大学", [(0.9, 0.88, 6.0)]), "B大学": hits("B大学", [(0.5, 0.82, 1.0)] * 3)}
    places = {"A大学": (True, 0.0), "B大学": (False, 300.0)}
    features = partner_features(groups, BOUNDS, {"A大学": 5}, place_of=places.__getitem__)
    assert features.column("in_region").tolist() == [1.0, 0.0]
    assert features.column("distance_log").tolist() == pytest.approx([0.0, math.log1p(300.0)])
    assert features.column("candidate_share")[1] == 1.0  # B has no count yet: its three matches are its seeds


# ---- the model: fitting, signals, storage -----------------------------------
def synthetic_needs(count=40, partners=12, seed=7):
    """Needs whose relevant partners have high `fused_max` (column 0); `fused_top3` (column 1) is noise, and
    big partners (seed_count_log) are relevant slightly more often."""
    rng = np.random.default_rng(seed)
    size_column = FEATURES.index("seed_count_log")
    needs = []
    for q in range(count):
        rows, relevant = {}, {}
        for p in range(partners):
            content, noise, size = rng.random(), rng.random(), rng.random()
            row = [content, noise] + [0.0] * (size_column - 2) + [size]
            rows[f"u{p:02d}"] = row
            if content + 0.3 * size > 1.0:
                relevant[f"u{p:02d}"] = 1.0
        relevant = relevant or {max(rows, key=lambda k: rows[k][0]): 1.0}  # every need is judged, as in need2univ
        # "max" ranks by the signal column, "top3" by the noise column
        by = {rule: sorted(rows, key=lambda k, c=c: -rows[k][c])[:10] for rule, c in (("max", 0), ("top3", 1))}
        needs.append(JudgedNeed(f"q{q}", f"project{q // 2}", features_of(rows), relevant, by))
    return needs


def test_fitting_learns_what_decides_relevance_and_is_deterministic():
    judged = [(n.features, n.relevant) for n in synthetic_needs()]
    model = fit_pairwise(judged)
    weights = dict(zip(model.features, model.weights, strict=True))
    assert weights["fused_max"] > 1.0 > abs(weights["fused_top3"])
    assert weights["seed_count_log"] > 0
    assert weights["bm25_max"] == 0.0  # constant in the data: nothing to learn, so no weight
    assert model.info["converged"] and model.info["pairs"] > 0
    assert fit_pairwise(judged) == model  # same data, same model: no random start, no sampling


def test_the_score_is_content_plus_track_record_and_content_sort_ignores_size():
    model = LinearRanker(("fused_max", "seed_count_log"), (0.0, 0.0), (1.0, 1.0), (1.0, 0.5))
    features = features_of({"big": [0.5] + [0.0] * (FEATURES.index("seed_count_log") - 1) + [2.0],
                            "apt": [0.9]})
    total = model.order(features)
    assert [p.key for p in total] == ["big", "apt"]  # 0.5 + 1.0 against 0.9 + 0
    assert total[0].score == pytest.approx(total[0].content_fit + total[0].track_record)
    assert total[0].track_record == pytest.approx(1.0)
    assert model.ranking(features, sort="content") == ["apt", "big"]  # 内容重視: the seeds that match, alone
    with pytest.raises(ValueError):
        model.order(features, sort="size")


def test_the_stored_form_round_trips(tmp_path):
    model = fit_pairwise([(n.features, n.relevant) for n in synthetic_needs(count=10)], info={"note": "試験"})
    model.save(tmp_path / "ranker.json")
    loaded = LinearRanker.load(tmp_path / "ranker.json")
    assert loaded == model and loaded.info["note"] == "試験"
    with pytest.raises(ValueError):
        LinearRanker(("no_such_feature",), (0.0,), (1.0,), (1.0,))


def test_the_shipped_model_loads_and_uses_known_features():
    model = LinearRanker.load()
    assert set(model.features) <= set(FEATURES) and "seed_count_log" in model.features
    assert "cross_validation" in model.info and model.info["cross_validation"]["grouped_by"] == "project"


# ---- folds and cross-validation ----------------------------------------------
def test_folds_keep_each_project_whole_balanced_and_stable():
    projects = [f"事業{i}" for i in range(23)]
    folds = project_folds(projects + projects[:5], k=5)  # a project listed twice is still one project
    assert set(folds) == set(projects) and set(folds.values()) == set(range(5))
    sizes = np.bincount(list(folds.values()))
    assert sizes.max() - sizes.min() <= 1
    assert project_folds(list(reversed(projects)), k=5) == folds  # the order of the data does not matter
    with pytest.raises(ValueError):
        project_folds(["a", "b"], k=3)


def test_cross_validation_never_trains_on_a_project_it_tests(monkeypatch):
    needs = synthetic_needs(count=30)
    # the same projects, one need each, as a second set (dev-notop10 shares dev's needs)
    second = [JudgedNeed(n.query_id, n.project, n.features, n.relevant, n.rules) for n in needs[::2]]
    trained_on: list[set[str]] = []

    def fit(judged):
        keys = {id(f) for f, _ in judged}
        trained_on.append({n.project for n in needs if id(n.features) in keys})
        return fit_pairwise(judged)

    result = cross_validate({"dev": needs, "notop10": second}, {"dev": ["u00"], "notop10": ["u01"]},
                            train_on="dev", k=3, fit=fit)
    folds = project_folds([n.project for n in needs], k=3)
    for f, projects in enumerate(trained_on):
        assert projects and not projects & {p for p, fold in folds.items() if fold == f}
    assert sum(result.fold_sizes["dev"]) == 30 and sum(result.fold_sizes["notop10"]) == 15
    methods = set(result.figures["dev"])
    assert {LEARNED, "learned_content", POPULARITY, "max", "top3"} <= methods
    learned, noise = result.figures["dev"][LEARNED]["nDCG@10"], result.figures["dev"]["top3"]["nDCG@10"]
    assert len(learned.folds) == 3 and learned.mean == pytest.approx(np.mean(learned.folds), abs=1e-4)
    assert learned.mean > noise.mean  # the ranker finds the signal; a rule on the noise column does not


# ---- the decision ---------------------------------------------------------
def figures(full, sizeless):
    """set → method → nDCG@10 spread, from {method: (mean, std)} per set."""
    def spread(mean, std):
        return {"nDCG@10": Spread(mean, std, (mean - std, mean + std))}
    return {"dev": {m: spread(*v) for m, v in full.items()},
            "dev-notop10": {m: spread(*v) for m, v in sizeless.items()}}


def test_the_learned_ranker_is_adopted_only_when_both_margins_clear_the_spread():
    rules = {"rms10": (0.31, 0.02), "sum": (0.32, 0.02), "top10": (0.31, 0.02)}
    sizeless = {"rms10": (0.17, 0.02), "sum": (0.15, 0.02), "top10": (0.18, 0.02), POPULARITY: (0.13, 0.02)}
    adopted = decide(figures({**rules, POPULARITY: (0.30, 0.02), LEARNED: (0.36, 0.02)},
                             {**sizeless, LEARNED: (0.21, 0.02)}), full="dev", sizeless="dev-notop10")
    assert adopted.default == LEARNED and adopted.learned_adopted
    assert "学習した順位付けを既定にします" in adopted.summary

    # 0.03 over popularity, but within one std of it: noise
    noisy = decide(figures({**rules, POPULARITY: (0.30, 0.04), LEARNED: (0.335, 0.02)},
                           {**sizeless, LEARNED: (0.21, 0.02)}), full="dev", sizeless="dev-notop10")
    assert not noisy.learned_adopted and not noisy.tests[0].passed and noisy.tests[1].passed
    assert noisy.default == "rms10"  # top10 leads rms10 on notop10 by 0.01 < 1 std: no change


def test_without_the_learned_ranker_a_fixed_rule_replaces_the_current_one_only_by_a_clear_margin():
    full = {"rms10": (0.31, 0.01), "sum": (0.32, 0.01), POPULARITY: (0.30, 0.01), LEARNED: (0.30, 0.01)}
    clear = decide(figures(full, {"rms10": (0.15, 0.01), "sum": (0.19, 0.01), LEARNED: (0.15, 0.01),
                                  POPULARITY: (0.1, 0.01)}), full="dev", sizeless="dev-notop10")
    assert clear.default == "sum" and "sum に替えます" in clear.summary
    behind = {**full, "sum": (0.25, 0.01)}  # better without the largest, clearly worse with them
    kept = decide(figures(behind, {"rms10": (0.15, 0.01), "sum": (0.19, 0.01), LEARNED: (0.15, 0.01),
                                   POPULARITY: (0.1, 0.01)}), full="dev", sizeless="dev-notop10")
    assert kept.default == "rms10" and "rms10 を保ちます" in kept.summary
