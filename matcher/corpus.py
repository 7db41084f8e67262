"""Reading the demo corpus (`corpora/`) into records.

Layout (documented in corpora/README.md):

    corpora/universities/*.jsonl   one university per line, with its liaison office
    corpora/seeds/*.jsonl          one seed per line
    corpora/needs.jsonl            one need per line
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .records import Liaison, Need, Researcher, Seed, University
from .regions import PrefectureTable, default_prefectures

CORPUS_DIR = Path(__file__).resolve().parents[1] / "corpora"


class CorpusError(ValueError):
    """A corpus file has a line the engine cannot read; the message names the file and line."""


@dataclass
class Corpus:
    universities: dict[str, University]
    seeds: list[Seed]
    needs: list[Need]


def read_jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if line.strip():
                try:
                    yield line_no, json.loads(line)
                except json.JSONDecodeError as e:
                    raise CorpusError(f"{path}:{line_no}: JSONとして読めません: {e}") from e


def university_from_dict(d: dict) -> University:
    liaison = d.get("liaison")
    return University(
        name=d["name"],
        prefecture_code=_code(d.get("prefecture_code")),
        name_en=d.get("name_en"),
        liaison=Liaison(**liaison) if liaison else None,
    )


def seed_from_dict(d: dict) -> Seed:
    r = d.get("researcher")
    return Seed(
        id=int(d["id"]),
        title=d["title"],
        summary=d.get("summary", ""),
        keywords=tuple(d.get("keywords", ())),
        market_areas=tuple(d.get("market_areas", ())),
        university=d["university"],
        prefecture_code=_code(d.get("prefecture_code")),
        researcher=Researcher(
            name=r["name"], university=d["university"], department=r.get("department"),
            kana=r.get("kana"), position=r.get("position"),
        ) if r else None,
        readiness=d.get("readiness"),
    )


def need_from_dict(d: dict) -> Need:
    poster = d.get("poster") or {}
    return Need(
        id=int(d["id"]),
        title=d["title"],
        description=d.get("description", ""),
        prefecture_code=_code(d.get("prefecture_code")),
        poster_name=poster.get("name"),
        poster_kind=poster.get("kind"),
        market_areas=tuple(d.get("market_areas", ())),
        collaboration=d.get("collaboration"),
        visibility=d.get("visibility", "public"),
    )


def load_corpus(root: Path = CORPUS_DIR, prefectures: PrefectureTable | None = None) -> Corpus:
    """Read and check the whole corpus; every error names its file and line."""
    prefectures = prefectures or default_prefectures()
    universities: dict[str, University] = {}
    for path in sorted((root / "universities").glob("*.jsonl")):
        for line_no, d in read_jsonl(path):
            u = _checked(path, line_no, university_from_dict, d, prefectures)
            universities[u.name] = u
    seeds = [
        _checked(path, line_no, seed_from_dict, d, prefectures)
        for path in sorted((root / "seeds").glob("*.jsonl"))
        for line_no, d in read_jsonl(path)
    ]
    needs_path = root / "needs.jsonl"
    needs = [_checked(needs_path, n, need_from_dict, d, prefectures) for n, d in read_jsonl(needs_path)] if needs_path.exists() else []
    for kind, items in (("シーズ", seeds), ("ニーズ", needs)):
        seen: set[int] = set()
        for item in items:
            if item.id in seen:
                raise CorpusError(f"{kind}のIDが重複しています: {item.id}")
            seen.add(item.id)
    missing = sorted({s.university for s in seeds} - set(universities))
    if missing:
        raise CorpusError(f"大学の登録がないシーズがあります: {'、'.join(missing[:5])}")
    return Corpus(universities=universities, seeds=seeds, needs=needs)


def _checked(path: Path, line_no: int, build, d: dict, prefectures: PrefectureTable):
    try:
        item = build(d)
        if item.prefecture_code is not None:
            prefectures.get(item.prefecture_code)
        return item
    except (KeyError, TypeError, ValueError) as e:
        raise CorpusError(f"{path}:{line_no}: {e}") from e


def _code(value) -> str | None:
    if value in (None, ""):
        return None
    return str(value).zfill(2)
