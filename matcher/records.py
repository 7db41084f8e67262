"""The items the engine matches: seeds, needs, and the universities behind seeds.

Plain frozen dataclasses. The engine does not own them: the database is the
source of truth for the API service (api/service.py builds these from its
rows), the corpus files for the CLI (matcher/corpus.py), and the engine keeps a
copy for ranking and display.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Liaison:
    """A university's industry-liaison office: whom a need poster should contact."""

    office: str
    url: str | None = None
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class University:
    name: str
    prefecture_code: str | None = None
    name_en: str | None = None
    liaison: Liaison | None = None
    # 全国地方公共団体コード of the main campus; None: the master's main address (places.Places.campus)
    municipality_code: str | None = None


@dataclass(frozen=True)
class Researcher:
    name: str
    university: str
    department: str | None = None
    kana: str | None = None
    position: str | None = None
    id: int | None = None  # the database's id, where there is one

    @property
    def key(self) -> str:
        """The id where known; otherwise the same name and department at the same university is the same person."""
        if self.id is not None:
            return f"researcher:{self.id}"
        return f"{self.university}|{self.department or ''}|{self.name}"


@dataclass(frozen=True)
class Seed:
    id: int
    title: str
    university: str
    summary: str = ""
    keywords: tuple[str, ...] = ()
    market_areas: tuple[str, ...] = ()
    prefecture_code: str | None = None
    researcher: Researcher | None = None
    readiness: str | None = None

    @property
    def text(self) -> str:
        """What gets embedded and tokenised."""
        return seed_text(self.title, self.summary, self.keywords)


@dataclass(frozen=True)
class Need:
    id: int
    title: str
    description: str = ""
    prefecture_code: str | None = None
    poster_name: str | None = None
    poster_kind: str | None = None  # "municipality" | "company" | other
    market_areas: tuple[str, ...] = ()
    collaboration: str | None = None
    visibility: str = "public"
    municipality_code: str | None = None  # 全国地方公共団体コード of where the need is, where the poster says
    # what a caller attaches for its own use; matching ignores it, the report period filter reads "created_at"
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def text(self) -> str:
        return need_text(self.title, self.description)


# The passage texts are functions of the fields alone, so a caller can know a text (and look up or compute its
# vector) before the item has an id: the API does so before it commits a new row.
def seed_text(title: str, summary: str, keywords: Sequence[str]) -> str:
    parts = [title]
    if summary:
        parts.append(summary)
    if keywords:
        parts.append("キーワード: " + "、".join(keywords))
    return "\n".join(parts)


def need_text(title: str, description: str) -> str:
    return "\n".join(p for p in (title, description) if p)
