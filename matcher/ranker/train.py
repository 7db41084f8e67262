"""Fitting the linear ranker: L2-regularised logistic loss on pairs (relevant partner, other partner) per need.

Pairwise, so that only the order within a need matters (needs differ in how well anything matches them).
Each need weighs the same, whatever its number of pairs: the benchmark's figure is a mean over needs too.
The optimiser is scipy's L-BFGS from zero weights, with no random start and no sampling, so the same
data gives the same model; weights are rounded so that the stored file does not change with the last
bits of floating-point summation order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from .features import CAPACITY_FEATURES, CONTENT_FEATURES, PartnerFeatures
from .model import LinearRanker

# The features the stored model uses: content and capacity. PLACE features are left out while the
# training needs have no place (need2univ: national ministries), since their weights could not be learned.
MODEL_FEATURES: tuple[str, ...] = CONTENT_FEATURES + CAPACITY_FEATURES
# Chosen before looking at any fold, not tuned: with ~20 correlated features standardised to unit
# variance and a mean loss of ~0.1–0.7 per need, 0.01 keeps weights of order 1.
DEFAULT_L2 = 0.01
DIGITS = 6  # significant digits kept of each number of the model

Judged = tuple[PartnerFeatures, Mapping[str, float]]  # a need's candidate partners and its judged relevance


def _round(values: npt.NDArray[np.float64]) -> tuple[float, ...]:
    return tuple(float(f"{v:.{DIGITS}g}") for v in values.tolist())


Pairs = tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.float64], int]


def _pairs(judged: Sequence[Judged], offsets: list[int]) -> Pairs:
    """Row indices (better, worse) of every pair the needs judge, each pair's weight (1 / pairs of its need,
    / needs), and the number of needs with a pair."""
    better_rows: list[npt.NDArray[np.intp]] = []
    worse_rows: list[npt.NDArray[np.intp]] = []
    weights: list[npt.NDArray[np.float64]] = []
    for (features, relevant), start in zip(judged, offsets, strict=True):
        gain = np.array([relevant.get(k, 0.0) for k in features.keys])
        better, worse = np.nonzero(gain[:, None] > gain[None, :])
        if better.size == 0:
            continue  # no relevant partner among the candidates, or all equally relevant: nothing to learn
        better_rows.append(better + start)
        worse_rows.append(worse + start)
        weights.append(np.full(better.size, 1.0 / better.size))
    if not better_rows:
        raise ValueError("ranker: no need has a relevant partner among its candidates")
    return (np.concatenate(better_rows), np.concatenate(worse_rows), np.concatenate(weights) / len(better_rows),
            len(better_rows))


def fit_pairwise(judged: Sequence[Judged], *, features: Sequence[str] = MODEL_FEATURES, l2: float = DEFAULT_L2,
                 info: Mapping[str, Any] | None = None) -> LinearRanker:
    """The linear ranker that minimises the mean pairwise logistic loss over needs plus l2 · |w|²."""
    from scipy.optimize import minimize

    features = tuple(features)
    offsets = np.cumsum([0] + [len(f.keys) for f, _ in judged]).tolist()
    x = np.concatenate([f.select(features) for f, _ in judged]) if judged else np.empty((0, len(features)))
    mean = x.mean(axis=0) if len(x) else np.zeros(len(features))
    scale = x.std(axis=0) if len(x) else np.ones(len(features))
    constant = scale < 1e-9
    scale = np.where(constant, 1.0, scale)  # a constant feature keeps weight 0: standardising it would divide by 0
    z = (x - mean) / scale
    better, worse, pair_weight, needs_with_pairs = _pairs(judged, offsets[:-1])

    def loss_and_gradient(w: npt.NDArray[np.float64]) -> tuple[float, npt.NDArray[np.float64]]:
        w = np.where(constant, 0.0, w)
        s = z @ w
        margin = s[worse] - s[better]  # the loss grows as a worse partner outscores a better one
        loss = float(pair_weight @ np.logaddexp(0.0, margin)) + l2 * float(w @ w)
        slope = pair_weight / (1.0 + np.exp(-margin))
        grad_s = np.bincount(worse, slope, minlength=len(s)) - np.bincount(better, slope, minlength=len(s))
        grad = z.T @ grad_s + 2 * l2 * w
        return loss, np.where(constant, 0.0, grad)

    result = minimize(loss_and_gradient, np.zeros(len(features)), jac=True, method="L-BFGS-B",
                      options={"maxiter": 1000, "gtol": 1e-9, "ftol": 1e-12})
    weights = np.where(constant, 0.0, result.x)
    details = {"objective": "pairwise logistic (RankNet), each need weighted equally", "l2": l2,
               "needs": len(judged), "needs_with_pairs": needs_with_pairs,
               "pairs": int(better.size), "converged": bool(result.success), "iterations": int(result.nit),
               "constant_features": [f for f, c in zip(features, constant.tolist(), strict=True) if c]}
    return LinearRanker(features, _round(mean), _round(scale), _round(weights), {**details, **(info or {})})
