"""Filters over the engine's records (seed → keep?), and how they combine. None means "keep everything"."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from .records import Need

T = TypeVar("T")
Filter = Callable[[T], bool]


def both(a: Filter[T] | None, b: Filter[T] | None) -> Filter[T] | None:
    """Both filters at once; None (no filter) where neither is given."""
    if a is None:
        return b
    if b is None:
        return a
    return lambda x: a(x) and b(x)


def not_confidential(need: Need) -> bool:
    return need.visibility != "confidential"


def ids_where(items: dict[int, T], keep: Filter[T]) -> NDArray[np.int64]:
    return np.fromiter((item_id for item_id, item in items.items() if keep(item)), dtype=np.int64)
