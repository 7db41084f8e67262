"""PDF of the HTML report with WeasyPrint (fonts: Debian's fonts-noto-cjk, "Noto Sans CJK JP")."""

from __future__ import annotations

import logging
from pathlib import Path


def write_pdf(html: str, path: Path) -> Path:
    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    HTML(string=html).write_pdf(str(path))
    return Path(path)
