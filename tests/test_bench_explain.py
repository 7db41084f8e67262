"""`bench explain`: the checks themselves (they must catch a lemma and a filler word), and the figures on the
golden corpus (every shown term verbatim, none rejected)."""

from __future__ import annotations

from matcher.bench_explain import Checker, run
from matcher.records import Seed, University
from matcher.results import Partner, SeedHit, Span
from matcher.text import default_tokenizer
from tests.conftest import GOLDEN


def test_the_checks_catch_a_lemma_and_a_filler_word():
    need_text = "県内のアカモクを使いたい"
    seed = Seed(id=1, title="アカモクの加工", university="静岡大学")
    hit = SeedHit(seed, 1.0, 0.9, 3.0, ["赤藻屑"], [Span(0, 4, "赤藻屑")])
    partner = Partner(level="university", key="静岡大学", name="静岡大学", university=University("静岡大学", "22"),
                      researcher=None, prefecture=None, region=None, cross_region=None, distance_km=None, score=0.5,
                      similarity=0.9, seeds=[hit], shared_terms=["アカモク", "県", "使う"])
    checker = Checker(default_tokenizer())
    checker.partner(partner, need_text)
    assert checker.not_verbatim.failures == {"赤藻屑": 1, "使う": 1}  # the lemmas; 使っ is what the need writes
    assert checker.rejected.failures == {"県": 1, "使う": 1}
    assert checker.not_verbatim.total == 5 and checker.rejected.total == 5  # 4 listed, 1 marked


def test_on_the_golden_corpus_every_shown_term_is_verbatim_and_none_is_filler(encoder, golden_engine):
    figures = run(GOLDEN, encoder, top_k=5, engine=golden_engine)
    assert figures["needs"] == 5 and figures["shown_terms"]["total"] > 0
    assert figures["shown_terms"]["share_verbatim"] == 1.0, figures["shown_terms"]["examples"]
    assert figures["highlighted_terms"]["share_rejected"] == 0.0, figures["highlighted_terms"]["examples"]
    assert figures["terms_per_list"]["max"] <= 8
