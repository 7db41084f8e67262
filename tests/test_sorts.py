"""The two sorts (総合 / 内容重視) and the two signals (内容の近さ / 実績・体制) of issue 17, through the one scoring
module (matcher/rank.py) and the engine: what each sort orders by, that no seed count enters a score, that the
counts stay right through writes, and that the engine's 総合 is the ranking the recorded decision adopted."""

from __future__ import annotations

import pytest

from matcher.engine import Engine, EngineSettings
from matcher.errors import InvalidInputError
from matcher.rank import CONTENT_RULE, SORTS, SeedCounts, SeedScore, rank_partners, sort_rule
from matcher.ranker.model import LinearRanker
from matcher.records import Researcher, Seed


def scored(university: str, fused: list[float], first_id: int = 0) -> list[SeedScore]:
    return [SeedScore(Seed(id=first_id + i, title=f"{university}{i}", university=university), f, 0.85, 1.0)
            for i, f in enumerate(sorted(fused, reverse=True))]


def order(groups, sort, counts=None):
    ranked = rank_partners(groups, sort_rule(sort, "rms10"), region_of=lambda _: None, need_region=None,
                           seed_count=(lambda seed: counts.count(seed, "university")) if counts else None)
    return ranked


# ---- the scoring module --------------------------------------------------------------------------------
def test_overall_counts_depth_and_content_the_best_seed_alone():
    # 総合 (rms10) rewards ten fair seeds over one apt one; 内容重視 puts the apt seed first
    groups = {"大規模大学": scored("大規模大学", [0.6] * 10), "専門大学": scored("専門大学", [0.9], 100)}
    assert [r.key for r in order(groups, "overall")] == ["大規模大学", "専門大学"]
    content = order(groups, "content")
    assert [r.key for r in content] == ["専門大学", "大規模大学"]
    assert [r.score for r in content] == pytest.approx([0.9, 0.6])  # the best seed's fused score, nothing added
    assert sort_rule("content", "sum") == CONTENT_RULE == "max" and sort_rule("overall", "sum") == "sum"
    with pytest.raises(ValueError):
        sort_rule("size", "rms10")


def test_the_seed_count_is_shown_beside_the_score_and_never_moves_it():
    groups = {"大規模大学": scored("大規模大学", [0.6] * 3), "専門大学": scored("専門大学", [0.9], 100)}
    small = SeedCounts([h.seed for hits in groups.values() for h in hits])
    big = SeedCounts([h.seed for hits in groups.values() for h in hits]
                     + [Seed(id=500 + i, title="無関係", university="大規模大学") for i in range(400)])
    for sort in SORTS:
        few, many = order(groups, sort, small), order(groups, sort, big)
        assert [(r.key, r.score) for r in few] == [(r.key, r.score) for r in many]  # 400 more seeds: same scores
        assert {r.key: r.seed_count for r in many} == {"大規模大学": 403, "専門大学": 1}
        assert {r.key: r.seed_count for r in few} == {"大規模大学": 3, "専門大学": 1}


def test_seed_counts_follow_adds_and_removals_by_university_and_researcher():
    yamada = Researcher(name="山田 太郎", university="A大学")
    seeds = [Seed(id=1, title="a", university="A大学", researcher=yamada), Seed(id=2, title="b", university="A大学"),
             Seed(id=3, title="c", university="B大学")]
    counts = SeedCounts(seeds)
    assert counts.count(seeds[0], "university") == 2 and counts.count(seeds[0], "researcher") == 1
    assert counts.count(seeds[1], "researcher") == 2  # no named researcher: the university's
    assert counts.count(seeds[0], "seed") == 2  # a seed partner: the body behind it, its university
    copied = counts.copy()
    counts.remove(seeds[0])
    assert counts.count(seeds[1], "university") == 1 and "A大学" in counts.university
    assert yamada.key not in counts.researcher
    counts.remove(seeds[1])
    assert "A大学" not in counts.university
    assert copied.count(seeds[0], "university") == 2  # a copy does not follow the original


# ---- the engine ----------------------------------------------------------------------------------------
def test_match_carries_the_sort_and_both_signals_in_words(golden_engine, golden_corpus):
    text = "稲わらともみ殻をガス化して農業ハウスの熱源にしたい"
    per_university = {}
    for seed in golden_corpus.seeds:
        per_university[seed.university] = per_university.get(seed.university, 0) + 1
    for sort in SORTS:
        result = golden_engine.match(text, "15", top_k=5, sort=sort)
        assert result.sort == sort
        for p in result.partners:
            assert p.seed_count == per_university[p.name]
            assert p.track_record == f"登録シーズ {p.seed_count:,}件"
            assert p.content_fit.startswith(p.closeness) and f"{p.similarity:.2f}" in p.content_fit
            # 「近い」以上のシーズ: at least the listed ones that are, and none where even the best is not
            assert p.close_seeds >= sum(1 for h in p.seeds if h.similarity >= 0.875)
            assert (p.close_seeds == 0) == (p.similarity < 0.875)
        scores = [p.score for p in result.partners if not p.promoted]
        assert scores == sorted(scores, reverse=True)
    with pytest.raises(InvalidInputError, match="並べ替え"):
        golden_engine.match(text, "15", sort="size")


def test_content_sort_orders_by_the_best_seed_and_overall_by_the_adopted_rule(golden_engine):
    text = "もみ殻の有効活用を考えている"
    content = golden_engine.match(text, None, top_k=10, sort="content")
    best = [max(h.score for h in p.seeds) for p in content.partners]
    assert [p.score for p in content.partners] == pytest.approx(best)  # each partner's best seed, nothing else
    assert best == sorted(best, reverse=True)
    overall = golden_engine.match(text, None, top_k=10)
    assert overall.sort == "overall" and {p.name for p in overall.partners} & {p.name for p in content.partners}


def test_writes_keep_the_track_record_equal_to_a_recount(encoder, golden_corpus):
    engine = Engine(encoder, universities=golden_corpus.universities.values())
    engine.sync_seeds(golden_corpus.seeds)
    first = golden_corpus.seeds[0]

    def recount() -> dict[str, int]:
        out: dict[str, int] = {}
        for seed in engine.seeds.values():
            out[seed.university] = out.get(seed.university, 0) + 1
        return out

    assert dict(engine.seed_counts.university) == recount()
    moved = Seed(id=first.id, title=first.title, summary=first.summary, university="静岡大学", prefecture_code="22")
    engine.upsert_seed(moved)  # same text, another university: no embedding, the counts move
    assert dict(engine.seed_counts.university) == recount()
    engine.delete_seed(first.id)
    assert dict(engine.seed_counts.university) == recount()
    copy = engine.reader_copy()
    assert dict(copy.seed_counts.university) == recount()


# ---- the decision ----------------------------------------------------------------------------------------
def test_the_engines_overall_ranking_is_the_one_the_recorded_decision_adopted():
    """models/ranker/ranker.json records the cross-validated decision (matcher/ranker/decision.py); the engine's
    総合 must be that ranking. A retrained model whose decision differs fails here until the engine follows."""
    decision = LinearRanker.load().info["decision"]
    assert decision is not None and decision["summary"]
    if decision["learned_adopted"]:
        pytest.fail("the decision adopts the learned ranker, but the engine's 総合 is a fixed rule")
    assert EngineSettings().aggregation == decision["default"]
