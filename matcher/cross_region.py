"""The cross-region guarantee: enough partners from outside the need's region among the first places.

Matching inside one region does not work (the hearings' complaint), so a ranked list of partners is asked
to show some from outside the need's region whenever they score close to the cut. Kept apart from rank.py's
scoring: it reorders what was ranked, never a score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from .rank import Ranked


def ensure_cross_region(ranked: Sequence[Ranked], top_k: int, *, min_share: float = 0.3,
                        window: int = 10, tolerance: float = 0.25) -> list[Ranked]:
    """Top-k of `ranked` (best first), with enough partners from outside the need's region.

    Within the first `window` places, at least round(min_share × window) partners
    come from outside the need's region, whenever such partners score within
    `tolerance` of the cut (the score of the last place), as a share of it:
    relative, so it holds whatever scale the aggregation gives. They replace the
    lowest in-region partners and are marked `promoted`. If no outside partner
    is close enough, the list stays as the scores made it: the guarantee never
    shows a poor match.
    """
    head = list(ranked[:top_k])
    window = min(window, len(head))
    missing = round(min_share * window) - sum(r.cross_region for r in head[:window])
    if window == 0 or missing <= 0:
        return head
    cut = head[window - 1].score
    waiting = [r for r in ranked[window:] if r.cross_region and r.score >= cut * (1 - tolerance)][:missing]
    if not waiting:
        return head
    return _promote(ranked, head[:window], waiting)[:top_k]


def _promote(ranked: Sequence[Ranked], window: list[Ranked], waiting: list[Ranked]) -> list[Ranked]:
    """The window with its lowest in-region partners replaced by `waiting`, then the rest of `ranked`."""
    in_region = [r.key for r in window if not r.cross_region]
    dropped = set(in_region[len(in_region) - len(waiting):])
    kept = [r for r in window if r.key not in dropped]
    # promoted partners rank below every partner that earned its place
    promoted = kept + [replace(r, promoted=True) for r in waiting]
    used = {r.key for r in promoted}
    rest = [r for r in ranked if r.key not in used]  # score order; the dropped come first
    return promoted + rest
