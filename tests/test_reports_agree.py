"""The batch report and the results page agree: for every need of the demo corpus, the report's partners and
scores are `engine.match`'s, nationwide and within the need's region (issue 13, part 1).

The engine holds the demo corpus with its shipped vectors (corpora/vectors), so nothing is encoded: the
needs' shipped passage vectors stand in for their query vectors, given to both the report and `match`
(the point is that both score a vector the same way, not how it was encoded). The report lists partners
in score order; `match` may promote outside partners into places 8–10 of its top 10 (the cross-region
guarantee), so the comparison takes `match`'s places up to the first promoted one, and checks that at
least the report's five listed places are covered.
"""

from __future__ import annotations

import numpy as np
import pytest

from matcher import demo_vectors
from matcher.corpus import CORPUS_DIR, load_corpus
from matcher.embed import DEFAULT_MODEL_DIR
from matcher.engine import Engine
from matcher.index import fingerprint
from matcher.reports import ReportOptions, ReportScope, compute_report, select_needs

TOP = 10
TOLERANCE = 1e-6


class ShippedVectorsOnly:
    """The encoder's name and size without the model: every vector here comes from the shipped file."""

    def __init__(self, name: str, dim: int):
        self.name, self.dim = name, dim

    def encode_queries(self, texts):
        raise AssertionError("nothing should be encoded: the shipped vectors cover the demo corpus")

    encode_passages = encode_queries


@pytest.fixture(scope="module")
def demo():
    shipped = demo_vectors.read(demo_vectors.vectors_path(DEFAULT_MODEL_DIR.name))
    vectors = shipped.as_dict()
    corpus = load_corpus(CORPUS_DIR)
    engine = Engine(ShippedVectorsOnly(shipped.model_id, shipped.vectors.shape[1]),
                    universities=corpus.universities.values())

    def known(prints):
        return {p: vectors[p] for p in prints if p in vectors}

    engine.sync_seeds(corpus.seeds, known=known)
    engine.sync_needs(corpus.needs, known=known)
    needs = select_needs(engine, ReportScope())
    need_vectors = np.stack([vectors[fingerprint(n.text, shipped.model_id)] for n in needs])
    report = compute_report(engine, options=ReportOptions(top_partners=TOP), needs=needs, need_vectors=need_vectors)
    return engine, needs, need_vectors, report


def test_the_report_covers_every_demo_need_with_the_hybrid_score(demo):
    engine, needs, _, report = demo
    assert len(report.needs) == len(engine.needs) == len(needs) > 100
    assert report.meta.mode == "hybrid"


def test_every_needs_partners_and_scores_are_those_of_match(demo):
    engine, needs, vectors, report = demo
    for need, vector, row in zip(needs, vectors, report.needs, strict=True):
        page = engine.match(need.text, need.prefecture_code, top_k=TOP, query_vector=vector)
        earned = []
        for p in page.partners:
            if p.promoted:
                break
            earned.append(p)
        assert len(earned) >= 5, need.id
        assert [p.university for p in row.partners[:len(earned)]] == [p.name for p in earned], need.id
        for mine, theirs in zip(row.partners, earned, strict=False):
            assert abs(mine.score - theirs.score) <= TOLERANCE, (need.id, mine.university)
            assert mine.cross_region == theirs.cross_region, (need.id, mine.university)


def test_every_needs_best_in_region_partner_and_gain_are_those_of_match(demo):
    engine, needs, vectors, report = demo
    for need, vector, row in zip(needs, vectors, report.needs, strict=True):
        local = engine.match(need.text, need.prefecture_code, top_k=1, scope="in-region", query_vector=vector)
        nationwide = engine.match(need.text, need.prefecture_code, top_k=1, query_vector=vector)
        if not local.partners:
            assert row.best_in_region is None, need.id
            continue
        assert row.best_in_region is not None and row.best_in_region.university == local.partners[0].name, need.id
        assert abs(row.best_in_region.score - local.partners[0].score) <= TOLERANCE, need.id
        assert nationwide.best_in_region is not None and nationwide.best_in_region.name == local.partners[0].name
        gain = nationwide.partners[0].score - local.partners[0].score
        assert row.gain is not None and abs(row.gain - gain) <= 2 * TOLERANCE, need.id


ISSUE_NEEDS = {50033: "茨城大学", 50012: "山形大学", 50055: "静岡大学", 50056: "静岡大学"}


def test_the_needs_of_the_issue_get_the_partner_the_page_names(demo, encoder):
    """東京の工具摩耗 → 茨城大学, 岩手の南部鉄器 → 山形大学, the Shizuoka marine needs → 静岡大学, with the model's own
    query vectors (the embeddings-only report named 北海道大学, 北海道大学 and 東京大学)."""
    engine = demo[0]
    needs = [engine.needs[i] for i in ISSUE_NEEDS]
    vectors = encoder.encode_queries([n.text for n in needs])
    report = compute_report(engine, needs=needs, need_vectors=vectors)
    assert {n.need_id: n.best.university for n in report.needs if n.best} == ISSUE_NEEDS
    for need, vector in zip(needs, vectors, strict=True):
        page = engine.match(need.text, need.prefecture_code, query_vector=vector)
        assert page.partners[0].name == ISSUE_NEEDS[need.id]


def test_under_content_sort_the_reports_partners_and_scores_are_those_of_match(demo):
    """内容重視 (issue 17) ranks by the best seed alone in both paths: the report's order and scores are
    `match(sort="content")`'s, and each partner carries the university's seed count (実績・体制) beside it."""
    engine, needs, vectors, _ = demo
    some = slice(0, 40)  # a third of the demo: the nationwide comparison above covers the shared search
    report = compute_report(engine, options=ReportOptions(top_partners=TOP, sort="content"), needs=needs[some],
                            need_vectors=vectors[some])
    assert report.meta.sort == "content" and report.meta.aggregation == "max"
    counts = engine.seed_counts.university
    for need, vector, row in zip(needs[some], vectors[some], report.needs, strict=True):
        page = engine.match(need.text, need.prefecture_code, top_k=TOP, query_vector=vector, sort="content")
        earned = list(page.partners[:next((i for i, p in enumerate(page.partners) if p.promoted), TOP)])
        assert len(earned) >= 5, need.id
        assert [p.university for p in row.partners[:len(earned)]] == [p.name for p in earned], need.id
        for mine, theirs in zip(row.partners, earned, strict=False):
            assert abs(mine.score - theirs.score) <= TOLERANCE, (need.id, mine.university)
            assert mine.seed_count == theirs.seed_count == counts[mine.university], need.id
