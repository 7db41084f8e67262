"""The learned partner ranker: a linear score over standardised features, split into its two signals.

    ranker = LinearRanker.load()                       # models/ranker/ranker.json
    features = partner_features(groups, bounds, seed_counts)
    for p in ranker.order(features):                   # or sort="content" for 内容重視
        p.key, p.score, p.content_fit, p.track_record

A linear model was chosen over boosted trees on purpose: its score is a sum over features, so it splits
exactly into 「内容の近さ」 (the content features' share) and 「実績・体制」 (the capacity features' share).
Both can be shown beside a partner, and ordering by content_fit alone is the 内容重視 sort: no size
advantage hides inside one number. The model is a few hundred bytes of JSON and needs only numpy to score.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .features import SIGNAL_OF, PartnerFeatures

MODEL_DIR = Path(__file__).resolve().parents[2] / "models" / "ranker"
MODEL_FILE = MODEL_DIR / "ranker.json"
FORMAT = "sangaku-linear-ranker/1"
SORTS = ("total", "content")  # 総合, 内容重視

Scores = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ScoredPartner:
    """A partner's place under the ranker, with the score's two signals (score = content_fit + track_record
    + place, the last 0 where the need has no place)."""

    key: str
    score: float
    content_fit: float  # 内容の近さ
    track_record: float  # 実績・体制
    place: float = 0.0


@dataclass(frozen=True)
class LinearRanker:
    """score(x) = Σ_f weight_f · (x_f − mean_f) / scale_f over `features` (names from features.FEATURES)."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    info: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not len(self.features) == len(self.mean) == len(self.scale) == len(self.weights):
            raise ValueError("ranker: features, mean, scale and weights differ in length")
        unknown = [f for f in self.features if f not in SIGNAL_OF]
        if unknown:
            raise ValueError(f"ranker: unknown features {unknown}")

    # ---- scoring ------------------------------------------------------
    def contributions(self, features: PartnerFeatures) -> npt.NDArray[np.float64]:
        """(partners, len(self.features)): each feature's share of each partner's score."""
        x = features.select(self.features)
        shares: Scores = (x - np.asarray(self.mean)) / np.asarray(self.scale) * np.asarray(self.weights)
        return shares

    def signal(self, features: PartnerFeatures, signal: str) -> Scores:
        """The sum of the contributions of the features of one signal ("content", "capacity", "place")."""
        mask = np.array([SIGNAL_OF[f] == signal for f in self.features], dtype=bool)
        part: Scores = self.contributions(features)[:, mask].sum(axis=1)
        return part

    def score(self, features: PartnerFeatures) -> Scores:
        total: Scores = self.contributions(features).sum(axis=1)
        return total

    def order(self, features: PartnerFeatures, *, sort: str = "total", top_k: int | None = None) -> list[ScoredPartner]:
        """Partners best first: by the whole score ("total", 総合) or by content fit alone ("content", 内容重視).

        Ties go by key, so an ordering is reproducible."""
        if sort not in SORTS:
            raise ValueError(f"ranker: sort must be one of {SORTS}")
        content = self.signal(features, "content")
        capacity = self.signal(features, "capacity")
        place = self.signal(features, "place")
        total = content + capacity + place
        by = total if sort == "total" else content
        order = sorted(range(len(features.keys)), key=lambda i: (-by[i], features.keys[i]))[:top_k]
        return [ScoredPartner(features.keys[i], float(by[i]), float(content[i]), float(capacity[i]), float(place[i]))
                for i in order]

    def ranking(self, features: PartnerFeatures, *, sort: str = "total", top_k: int | None = None) -> list[str]:
        return [p.key for p in self.order(features, sort=sort, top_k=top_k)]

    # ---- storage ------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "features": list(self.features), "mean": list(self.mean),
                "scale": list(self.scale), "weights": list(self.weights), "info": dict(self.info)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LinearRanker:
        if data.get("format") != FORMAT:
            raise ValueError(f"ranker: not a {FORMAT} model")
        return cls(tuple(data["features"]), _floats(data["mean"]), _floats(data["scale"]), _floats(data["weights"]),
                   dict(data.get("info", {})))

    def save(self, path: Path = MODEL_FILE) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_json(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> LinearRanker:
        return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))


def _floats(values: Sequence[Any]) -> tuple[float, ...]:
    return tuple(float(v) for v in values)
