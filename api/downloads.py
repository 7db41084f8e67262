"""The Content-Disposition of a download with a Japanese file name, for every file the service hands out.

Moved here from api/need_export.py (one need's partners) so that the report files (api/report_files.py) name
their downloads the same way; its behaviour for need exports is unchanged (`disposition` defaults to attachment).
"""

from __future__ import annotations

from urllib.parse import quote


def content_disposition(name: str, fallback: str, disposition: str = "attachment") -> str:
    """The Japanese name as RFC 5987 `filename*`, and an ASCII `filename` for clients that lack it."""
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
