"""Concentration of best-partner places: each university's share of the needs it is best for, beside its
share of the seeds.

A university's seeds are its chances: with a fair ranking, its share of best-partner places should be of
the order of its share of seeds (more where its research fits the needs, less where it does not). A share
more than `OVER_SHARE` times the seed share is flagged: it was how the embeddings-only report, which named
北海道大学 best for 26% of the demo needs with 2% of the seeds, showed a bias rather than a finding.
On a small corpus the flag is coarse (one need more or less moves a share by 1/needs); read it with the counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from .model import ConcentrationRow, NeedReport

OVER_SHARE = 2.0  # flag a university whose share of best-partner places exceeds this multiple of its seed share


def concentration(needs: Sequence[NeedReport], seeds_per_university: Mapping[str, int]) -> list[ConcentrationRow]:
    """One row per university that is some need's best partner, most places first (ties by name)."""
    best = Counter(n.best.university for n in needs if n.best is not None)
    placed, seeds = sum(best.values()), sum(seeds_per_university.values())
    rows = []
    for university, count in best.items():
        share_best = count / placed
        held = seeds_per_university.get(university, 0)
        share_seeds = held / seeds if seeds else 0.0
        ratio = share_best / share_seeds if share_seeds else None
        rows.append(ConcentrationRow(university, count, share_best, held, share_seeds, ratio,
                                     over_share=share_best > OVER_SHARE * share_seeds))
    rows.sort(key=lambda r: (-r.best_for, r.university))
    return rows
