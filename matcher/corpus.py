"""Reading the demo corpus (`corpora/`) into records.

Layout (documented in corpora/README.md):

    corpora/universities/*.jsonl   one university per line, with its liaison office
    corpora/seeds/*.jsonl          one seed per line
    corpora/needs.jsonl            one need per line
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from .places import default_places
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


def read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line of a JSON Lines file."""
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if line.strip():
                try:
                    yield line_no, json.loads(line)
                except json.JSONDecodeError as e:
                    raise CorpusError(f"{path}:{line_no}: JSONとして読めません: {e}") from e


def university_from_dict(d: dict[str, Any]) -> University:
    liaison = d.get("liaison")
    return University(
        name=d["name"],
        prefecture_code=_code(d.get("prefecture_code")),
        name_en=d.get("name_en"),
        liaison=Liaison(**liaison) if liaison else None,
    )


def seed_from_dict(d: dict[str, Any]) -> Seed:
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


def need_from_dict(d: dict[str, Any]) -> Need:
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
        municipality_code=default_places().need_municipality_code(d.get("municipality_code"),
                                                                  _code(d.get("prefecture_code"))),
    )


def load_corpus(root: Path = CORPUS_DIR, prefectures: PrefectureTable | None = None) -> Corpus:
    """Read and check the whole corpus; every error names its file and line."""
    prefectures = prefectures or default_prefectures()
    universities = {u.name: u for u in _read_items(sorted((root / "universities").glob("*.jsonl")),
                                                   university_from_dict, prefectures)}
    seeds = _read_items(sorted((root / "seeds").glob("*.jsonl")), seed_from_dict, prefectures)
    needs_path = root / "needs.jsonl"
    needs = _read_items([needs_path], need_from_dict, prefectures) if needs_path.exists() else []
    _check_unique_ids("シーズ", seeds)
    _check_unique_ids("ニーズ", needs)
    missing = sorted({s.university for s in seeds} - set(universities))
    if missing:
        raise CorpusError(f"大学の登録がないシーズがあります: {'、'.join(missing[:5])}")
    return Corpus(universities=universities, seeds=seeds, needs=needs)


class _Located(Protocol):
    @property
    def prefecture_code(self) -> str | None: ...


_Item = TypeVar("_Item", bound=_Located)


def _read_items(paths: list[Path], build: Callable[[dict[str, Any]], _Item],
                prefectures: PrefectureTable) -> list[_Item]:
    return [_checked(path, line_no, build, d, prefectures) for path in paths for line_no, d in read_jsonl(path)]


def _checked(path: Path, line_no: int, build: Callable[[dict[str, Any]], _Item], d: dict[str, Any],
             prefectures: PrefectureTable) -> _Item:
    """The record built from one line, with its prefecture checked; errors name the file and line."""
    try:
        item = build(d)
        if item.prefecture_code is not None:
            prefectures.get(item.prefecture_code)
        return item
    except (KeyError, TypeError, ValueError) as e:
        raise CorpusError(f"{path}:{line_no}: {e}") from e


def _check_unique_ids(kind: str, items: list[Seed] | list[Need]) -> None:
    seen: set[int] = set()
    for item in items:
        if item.id in seen:
            raise CorpusError(f"{kind}のIDが重複しています: {item.id}")
        seen.add(item.id)


def _code(value: object) -> str | None:
    if value in (None, ""):
        return None
    return str(value).zfill(2)
