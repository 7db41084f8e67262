"""Engine results as plain JSON-ready dicts (for `--json` output and the API)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from .regions import Prefecture
from .results import MatchResult, NeedHit, Partner, SeedHit, Span

# A JSON object. Its values differ in shape by key, so Any: the API's pydantic models check them.
JsonObject = dict[str, Any]


def _prefecture(p: Prefecture | None) -> JsonObject | None:
    return None if p is None else {"code": p.code, "name": p.name, "region": p.region}


def _spans(spans: list[Span]) -> list[JsonObject]:
    return [{"start": s.start, "end": s.end, "term": s.term} for s in spans]


def seed_hit_to_dict(hit: SeedHit) -> JsonObject:
    seed = hit.seed
    return {
        "seed_id": seed.id,
        "title": seed.title,
        "text": seed.text,
        "score": round(hit.score, 4),
        "similarity": round(hit.similarity, 4),
        "bm25": round(hit.lexical, 4),
        "shared_terms": hit.shared_terms,
        "highlights": _spans(hit.seed_spans),
        "researcher": asdict(seed.researcher) if seed.researcher else None,
        "market_areas": list(seed.market_areas),
        "readiness": seed.readiness,
    }


def partner_to_dict(p: Partner) -> JsonObject:
    return {
        "level": p.level,
        "key": p.key,
        "name": p.name,
        "university": p.university.name,
        "researcher": asdict(p.researcher) if p.researcher else None,
        "prefecture": _prefecture(p.prefecture),
        "region": p.region,
        "cross_region": p.cross_region,
        "distance_km": p.distance_km,
        "distance_basis": p.distance_basis,
        "distance_label": p.distance_label,
        "municipality": p.municipality,
        "score": round(p.score, 4),
        "similarity": round(p.similarity, 4),
        "shared_terms": p.shared_terms,
        "explanation": p.explanation,
        "promoted_for_cross_region": p.promoted,
        "signals": signals_to_dict(p),
        "contact": asdict(p.contact) if p.contact else None,
        "seeds": [seed_hit_to_dict(h) for h in p.seeds],
    }


def signals_to_dict(p: Partner) -> JsonObject:
    """The partner's two signals (issue 17), each in words and in its numbers."""
    return {
        "content_fit": {"words": p.content_fit, "band": p.closeness, "similarity": round(p.similarity, 4),
                        "close_seeds": p.close_seeds},
        "track_record": {"words": p.track_record, "seed_count": p.seed_count},
    }


def match_result_to_dict(r: MatchResult) -> JsonObject:
    return {
        "need": {"text": r.text, "prefecture": _prefecture(r.prefecture), "highlights": _spans(r.need_spans)},
        "scope": r.scope,
        "level": r.level,
        "sort": r.sort,
        "partners": [partner_to_dict(p) for p in r.partners],
        "best_in_region": partner_to_dict(r.best_in_region) if r.best_in_region else None,
        "cross_region_count": r.cross_region_count,
        "gain_over_local": None if r.gain_over_local is None else round(r.gain_over_local, 4),
    }


def need_hit_to_dict(h: NeedHit) -> JsonObject:
    n = h.need
    return {
        "need_id": n.id,
        "title": n.title,
        "prefecture_code": n.prefecture_code,
        "poster": {"name": n.poster_name, "kind": n.poster_kind},
        "score": round(h.score, 4),
        "similarity": round(h.similarity, 4),
        "shared_terms": h.shared_terms,
        "cross_region": h.cross_region,
        "distance_km": h.distance_km,
        "distance_basis": h.distance_basis,
        "distance_label": h.distance_label,
    }
