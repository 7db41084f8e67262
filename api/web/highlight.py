"""Text with the engine's highlight spans wrapped in <mark>, every piece HTML-escaped."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from markupsafe import Markup, escape


def highlight(text: str, spans: Iterable[Any] | None) -> Markup:
    """`spans`: objects or dicts with start/end offsets into `text`; overlapping or bad spans are skipped."""
    out: list[str] = []
    pos = 0
    items = sorted((s["start"], s["end"]) if isinstance(s, dict) else (s.start, s.end) for s in spans or ())
    for start, end in items:
        if start < pos or end <= start or end > len(text):
            continue
        out.append(str(escape(text[pos:start])))
        out.append("<mark>" + str(escape(text[start:end])) + "</mark>")
        pos = end
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))
