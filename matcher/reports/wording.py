"""The one way of writing the unmet threshold, for the report files, the coordinator's pages and the API.

Before, the same rule was written five ways (閾値, しきい値, "近さが 0.875 未満", and a note that rounded 0.875 to
0.88); every place now says 「内容の近さ 0.875 未満を未充足とする」 through `unmet_rule`.
"""

from __future__ import annotations


def threshold_text(threshold: float) -> str:
    """0.875 → "0.875", 0.8 → "0.80": at least two decimals, at most four, never rounded to fewer."""
    whole, _, decimals = f"{threshold:.4f}".partition(".")
    return f"{whole}.{decimals.rstrip('0').ljust(2, '0')}"


def unmet_rule(threshold: float) -> str:
    """「内容の近さ 0.875 未満を未充足とする」: the closeness of a need's best seed (cosine) below the threshold."""
    return f"内容の近さ {threshold_text(threshold)} 未満を未充足とする"
