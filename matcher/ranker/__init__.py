"""Partner ranking learned from judged needs (issue 17).

    features.py  the features of one (need, partner) pair, from the engine's candidates
    model.py     LinearRanker: scoring, ordering (総合 / 内容重視), the two signals, the stored JSON
    train.py     fitting it: pairwise logistic loss, deterministic
    dataset.py   a judged need: features, fixed rules' rankings, relevance
    cv.py        k-fold cross-validation grouped by project, every method on the same folds
    decision.py  which ranking is the default, decided from the figures
    card.py      the model card (models/ranker/README.md), written from the figures

Nothing here searches or embeds, and the engine does not score with the model: the cross-validated decision
(models/ranker/README.md, 2026-12-02) did not adopt it, so the engine's 総合 stays the fixed rule rms10 and its
内容重視 is the best seed alone (matcher/rank.py: `sort_rule`; the 実績・体制 signal is `rank.SeedCounts`). Should
a retrained model's decision adopt it, tests/test_sorts.py fails until 総合 orders partners by
`LinearRanker.order(partner_features(groups, bounds, seed_counts))` in place of rank.rank_partners, in
engine.match and in the batch report alike.
"""
