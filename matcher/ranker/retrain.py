"""Retraining the stored ranker: cross-validate on the judged sets, fit on all needs of the first, and write
the model with its card. What `matcher train-ranker` runs, apart from searching the needs.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .card import model_card
from .cv import DEFAULT_FOLDS, CrossValidation, cross_validate
from .dataset import JudgedSet
from .decision import Decision, decide
from .model import MODEL_DIR, LinearRanker
from .train import DEFAULT_L2, MODEL_FEATURES, Judged, fit_pairwise


@dataclass(frozen=True)
class Retrained:
    model: LinearRanker
    cv: CrossValidation
    decision: Decision | None  # None with one set: the decision needs the set without the largest universities
    seconds: dict[str, float]


def retrain(sets: Sequence[JudgedSet], *, folds: int = DEFAULT_FOLDS, l2: float = DEFAULT_L2) -> Retrained:
    """Cross-validated figures on every set (rankers trained on the first set's other folds), and the model
    fitted on every need of the first set."""
    if not sets:
        raise ValueError("retrain: no judged set")
    started = time.perf_counter()

    def fit(judged: Sequence[Judged]) -> LinearRanker:
        return fit_pairwise(judged, l2=l2)

    cv = cross_validate({s.name: s.needs for s in sets}, {s.name: s.popularity for s in sets},
                        train_on=sets[0].name, k=folds, fit=fit)
    cv_seconds = time.perf_counter() - started
    decision = decide(cv.figures, full=sets[0].name, sizeless=sets[1].name) if len(sets) > 1 else None
    started = time.perf_counter()
    training = sets[0]
    info = {"trained_on": {**{k: v for k, v in training.info.items() if not k.endswith("_seconds")},
                           "name": training.name},
            "cross_validation": cv.to_json(), "decision": decision.to_json() if decision else None}
    model = fit_pairwise([(n.features, n.relevant) for n in training.needs], features=MODEL_FEATURES, l2=l2,
                         info=info)
    return Retrained(model, cv, decision, {"cv": round(cv_seconds, 1),
                                           "fit": round(time.perf_counter() - started, 1)})


def write(retrained: Retrained, out_dir: Path = MODEL_DIR) -> list[Path]:
    """The model (ranker.json) and its card (README.md) in `out_dir`."""
    out_dir = Path(out_dir)
    model_path, card_path = out_dir / "ranker.json", out_dir / "README.md"
    retrained.model.save(model_path)
    card_path.write_text(model_card(retrained.model, retrained.cv, retrained.decision), encoding="utf-8")
    return [model_path, card_path]
