"""Cross-validation of every partner-ranking method on the same folds, grouped by project.

    folds = project_folds(projects, k=5)
    result = cross_validate({"dev": dev, "dev-notop10": notop10}, popularity, train_on="dev", k=5)

Folds are built once over the projects of every set, so that a project (and its text) is in the same
fold in each set: a ranker trained on the other folds of `train_on` has seen none of the needs it is
tested on, in any set. Fixed rules and popularity have nothing to train; they are scored on the same
test folds, so every method's figure is a mean ± standard deviation over the same k groups of needs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..metrics import Metric, ndcg_at, recall_at
from .dataset import JudgedNeed
from .model import LinearRanker
from .train import Judged, fit_pairwise

DEFAULT_FOLDS = 5
METRICS: dict[str, tuple[Metric, int]] = {"nDCG@10": (ndcg_at, 10), "R@10": (recall_at, 10)}
LEARNED, LEARNED_CONTENT, POPULARITY = "learned", "learned_content", "popularity"

Ranking = Callable[[JudgedNeed, LinearRanker], Sequence[str]]
Fit = Callable[[Sequence[Judged]], LinearRanker]


def project_folds(projects: Iterable[str], k: int = DEFAULT_FOLDS) -> dict[str, int]:
    """Each project's fold (0..k-1): projects in the order of a hash of their name, dealt round-robin.

    The hash makes the folds independent of the order of the files and of the projects' names' meaning
    (a ministry's projects do not cluster in one fold), and identical on every run."""
    unique = sorted(set(projects), key=lambda p: (hashlib.sha256(p.encode("utf-8")).hexdigest(), p))
    if len(unique) < k:
        raise ValueError(f"cross-validation: {len(unique)} projects cannot fill {k} folds")
    return {project: i % k for i, project in enumerate(unique)}


@dataclass(frozen=True)
class Spread:
    """A figure over folds: its mean, its sample standard deviation, and the value of each fold."""

    mean: float
    std: float
    folds: tuple[float, ...]

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        array = np.asarray(values, dtype=np.float64)
        std = float(array.std(ddof=1)) if len(array) > 1 else 0.0
        return cls(round(float(array.mean()), 4), round(std, 4), tuple(round(float(v), 4) for v in values))

    def to_json(self) -> dict[str, object]:
        return {"mean": self.mean, "std": self.std, "folds": list(self.folds)}


Figures = dict[str, dict[str, dict[str, Spread]]]  # set → method → metric → spread


@dataclass(frozen=True)
class CrossValidation:
    k: int
    fold_sizes: dict[str, list[int]]  # set → needs per fold
    figures: Figures
    models: list[LinearRanker]  # the ranker of each fold, trained without it

    def to_json(self) -> dict[str, object]:
        return {"folds": self.k, "grouped_by": "project", "fold_sizes": self.fold_sizes,
                "sets": {name: {method: {metric: spread.to_json() for metric, spread in by_metric.items()}
                                for method, by_metric in by_method.items()}
                         for name, by_method in self.figures.items()}}


def methods(rules: Iterable[str], popularity: Sequence[str]) -> dict[str, Ranking]:
    """Every method compared: the learned ranker (総合 and content only), each fixed rule, popularity."""
    table: dict[str, Ranking] = {
        LEARNED: lambda need, model: model.ranking(need.features, top_k=10),
        LEARNED_CONTENT: lambda need, model: model.ranking(need.features, sort="content", top_k=10),
    }
    for rule in rules:
        table[rule] = _fixed(rule)
    table[POPULARITY] = lambda need, model: popularity[:10]
    return table


def _fixed(rule: str) -> Ranking:
    return lambda need, model: need.rules[rule]


def _fold_figures(needs: Sequence[JudgedNeed], model: LinearRanker,
                  table: Mapping[str, Ranking]) -> dict[str, dict[str, float]]:
    """method → metric → mean over `needs` (one test fold)."""
    out: dict[str, dict[str, float]] = {}
    for name, rank in table.items():
        runs = [(rank(need, model), need.relevant) for need in needs]
        out[name] = {metric: float(np.mean([fn(ranked, rel, k) for ranked, rel in runs]))
                     for metric, (fn, k) in METRICS.items()}
    return out


def cross_validate(sets: Mapping[str, Sequence[JudgedNeed]], popularity: Mapping[str, Sequence[str]], *,
                   train_on: str, k: int = DEFAULT_FOLDS, fit: Fit = fit_pairwise) -> CrossValidation:
    """Every method on every set, per fold; the ranker of fold f is trained on `train_on` without fold f.

    `popularity`: per set, every partner by its number of seeds, most first."""
    fold_of = project_folds((need.project for needs in sets.values() for need in needs), k)
    training = sets[train_on]
    models = [fit([(n.features, n.relevant) for n in training if fold_of[n.project] != f]) for f in range(k)]
    figures: Figures = {}
    sizes: dict[str, list[int]] = {}
    for name, needs in sets.items():
        sizes[name], figures[name] = _set_figures(name, needs, popularity[name], fold_of, models)
    return CrossValidation(k, sizes, figures, models)


def _set_figures(name: str, needs: Sequence[JudgedNeed], popularity: Sequence[str], fold_of: Mapping[str, int],
                 models: Sequence[LinearRanker]) -> tuple[list[int], dict[str, dict[str, Spread]]]:
    """One set: the needs in each test fold, and method → metric → spread over the folds."""
    rules = sorted({rule for need in needs for rule in need.rules})
    table = methods(rules, popularity)
    per_fold = [_fold_figures(_held_out(name, needs, fold_of, f), model, table) for f, model in enumerate(models)]
    sizes = [sum(1 for n in needs if fold_of[n.project] == f) for f in range(len(models))]
    spreads = {method: {metric: Spread.of([fold[method][metric] for fold in per_fold]) for metric in METRICS}
               for method in table}
    return sizes, spreads


def _held_out(name: str, needs: Sequence[JudgedNeed], fold_of: Mapping[str, int], fold: int) -> list[JudgedNeed]:
    held_out = [n for n in needs if fold_of[n.project] == fold]
    if not held_out:
        raise ValueError(f"cross-validation: fold {fold} of {name} has no needs")
    return held_out
