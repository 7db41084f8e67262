"""Which partner ranking is the default, decided from cross-validated figures by a fixed rule (issue 17).

The learned ranker becomes the default only if, on nDCG@10,
  - on the set with every university (dev) its mean beats popularity by at least 0.03, and
  - on the set without the largest universities (dev-notop10) its mean beats the best fixed rule,
each by more than one standard deviation. Otherwise the default stays a fixed rule: the engine's
current one, unless another engine rule beats it on the size-less set by more than one standard
deviation without falling behind it on the full set by more than one.

"One standard deviation" is the larger of the two methods' standard deviations over folds, the spread the
README prints beside each mean: a margin within it is noise. The standard deviation of the per-fold
differences (smaller, since the folds are shared) is printed too, and not used.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np

from ..rank import AGGREGATIONS
from .cv import LEARNED, POPULARITY, Figures

METRIC = "nDCG@10"
MIN_GAIN_OVER_POPULARITY = 0.03
CURRENT_RULE = "rms10"  # EngineSettings.aggregation today


@dataclass(frozen=True)
class Test:
    """Does `method` beat `baseline` on `set` by at least `min_gain` and by more than one std?"""

    set: str
    method: str
    baseline: str
    margin: float
    std: float
    paired_std: float
    min_gain: float
    passed: bool

    def words(self) -> str:
        mark = "合格" if self.passed else "不合格"
        need = f"≥ {self.min_gain:.2f} かつ " if self.min_gain else ""
        return (f"{self.set}: {self.method} − {self.baseline} = {self.margin:+.4f}"
                f"（必要: {need}> 1σ = {self.std:.4f}） → {mark}")


def compare(figures: Figures, set_name: str, method: str, baseline: str, *, min_gain: float = 0.0,
            metric: str = METRIC) -> Test:
    a, b = figures[set_name][method][metric], figures[set_name][baseline][metric]
    margin = round(a.mean - b.mean, 4)
    std = max(a.std, b.std)
    differences = np.subtract(a.folds, b.folds)
    paired = round(float(differences.std(ddof=1)), 4) if len(differences) > 1 else 0.0
    return Test(set_name, method, baseline, margin, std, paired, min_gain, margin >= min_gain and margin > std)


def best_of(figures: Figures, set_name: str, rules: Iterable[str], metric: str = METRIC) -> str:
    """The rule with the highest mean (ties: the first in `rules`)."""
    rules = list(rules)
    return max(rules, key=lambda r: (figures[set_name][r][metric].mean, -rules.index(r)))


@dataclass(frozen=True)
class Decision:
    default: str  # "learned" or a rank.AGGREGATIONS name
    learned_adopted: bool
    tests: list[Test]
    summary: str  # one Japanese sentence with the figures

    def to_json(self) -> dict[str, object]:
        return {"default": self.default, "learned_adopted": self.learned_adopted, "summary": self.summary,
                "tests": [asdict(t) for t in self.tests]}


def decide(figures: Figures, *, full: str, sizeless: str, current: str = CURRENT_RULE) -> Decision:
    """The default ranking, from the figures of `full` (every university) and `sizeless` (the largest removed)."""
    fixed = [m for m in figures[sizeless] if m not in (LEARNED, POPULARITY) and not m.startswith(LEARNED)]
    best_fixed = best_of(figures, sizeless, fixed)
    over_popularity = compare(figures, full, LEARNED, POPULARITY, min_gain=MIN_GAIN_OVER_POPULARITY)
    over_fixed = compare(figures, sizeless, LEARNED, best_fixed)
    tests = [over_popularity, over_fixed]
    if over_popularity.passed and over_fixed.passed:
        return Decision(LEARNED, True, tests,
                        f"学習した順位付けを既定にします（{over_popularity.words()}；{over_fixed.words()}）。")

    engine_rules = [m for m in AGGREGATIONS if m in figures[sizeless]]
    candidate = best_of(figures, sizeless, engine_rules)
    default = current
    if candidate != current:
        better = compare(figures, sizeless, candidate, current)
        worse = compare(figures, full, current, candidate)
        tests += [better, worse]
        if better.passed and not worse.passed:
            default = candidate
    failed = "；".join(t.words() for t in (over_popularity, over_fixed) if not t.passed)
    kept = "を保ちます" if default == current else "に替えます"
    best = figures[sizeless][candidate][METRIC].mean
    return Decision(default, False, tests, f"学習した順位付けは採用しません（{failed}）。固定の規則 {default} {kept}"
                                           f"（{sizeless} で最良の規則は {candidate}、平均 {best:.4f}）。")
