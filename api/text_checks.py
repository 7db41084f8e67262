"""What a stored text may contain: checked in the Create/Update models, so the API and the pages refuse alike.

- No lone surrogates: they cannot be encoded as UTF-8, so SQLite and PostgreSQL would fail on them (a 500).
- No control characters: NUL is refused by PostgreSQL (a 500), and the others have no place in a title or a name;
  long texts (a need's description, a seed's summary) keep tab and line breaks.
- Not only invisible characters: a description of zero-width spaces passes `min_length` but says nothing.
"""

from __future__ import annotations

import unicodedata

LINE_BREAKS_AND_TAB = frozenset("\t\n\r")

SURROGATE = "使えない文字（対になっていないサロゲート）が含まれています。"
CONTROL = "制御文字（NUL など）は使えません。"
CONTROL_IN_LINE = "制御文字（NUL・改行・タブなど）は使えません。"
INVISIBLE = "目に見える文字を含めてください（ゼロ幅文字や空白だけの入力はできません）。"


def _problem(value: str, allowed: frozenset[str]) -> str | None:
    visible = False
    for char in value:
        category = unicodedata.category(char)
        if category == "Cs":
            return SURROGATE
        if category == "Cc" and char not in allowed:
            return CONTROL_IN_LINE if not allowed else CONTROL
        if not (char.isspace() or category == "Cf" or category == "Cc"):
            visible = True
    if value and not visible:
        return INVISIBLE
    return None


def one_line(value: str | None) -> str | None:
    """A title, a name, a keyword: no control character at all."""
    if value is not None and (problem := _problem(value, frozenset())):
        raise ValueError(problem)
    return value


def long_text(value: str | None) -> str | None:
    """A description or summary: tab and line breaks are allowed."""
    if value is not None and (problem := _problem(value, LINE_BREAKS_AND_TAB)):
        raise ValueError(problem)
    return value

