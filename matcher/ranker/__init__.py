"""Partner ranking learned from judged needs (issue 17).

    features.py  the features of one (need, partner) pair, from the engine's candidates
    model.py     LinearRanker: scoring, ordering (総合 / 内容重視), the two signals, the stored JSON
    train.py     fitting it: pairwise logistic loss, deterministic
    dataset.py   a judged need: features, fixed rules' rankings, relevance
    cv.py        k-fold cross-validation grouped by project, every method on the same folds
    decision.py  which ranking is the default, decided from the figures
    card.py      the model card (models/ranker/README.md), written from the figures

Nothing here searches or embeds, and nothing is imported by the engine yet: the engine's integration point
is `LinearRanker.order(partner_features(groups, bounds, seed_counts))` in place of rank.rank_partners.
"""
