"""Route parameter types shared by the API and the pages, so that every id route has the same bounds."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from .limits import ID_MAX

# every `{…_id}` of a path: a positive id that both databases can hold (api/limits.ID_MAX)
PathId = Annotated[int, Path(ge=1, le=ID_MAX, description=f"ID（1〜{ID_MAX}）")]
