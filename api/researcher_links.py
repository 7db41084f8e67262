"""A researcher's researchmap and KAKEN pages (issue 15): ids checked on the way in, links built on the way out.

Users paste either the id or the page's address; both are accepted and stored as the bare id, so that a link
always points at the service it names (never at an address someone typed).

- researchmap: the permalink of https://researchmap.jp/<permalink> (letters, digits, `_`, `-`, `.`).
- KAKEN: the 8-digit 研究者番号 (e-Rad researcher number), linked to KAKEN's search by that number.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

RESEARCHMAP_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{1,63}")
KAKEN_ID = re.compile(r"[0-9]{8}")
RESEARCHMAP_HOSTS = ("researchmap.jp", "www.researchmap.jp")
KAKEN_HOSTS = ("kaken.nii.ac.jp", "nrid.nii.ac.jp")

RESEARCHMAP_ERROR = ("researchmap の ID（https://researchmap.jp/ の後ろの部分、英数字と _ - .）か、"
                     "そのページのアドレスを入力してください。")
KAKEN_ERROR = "KAKEN の研究者番号（8桁の数字）を入力してください。"


def _typed(value: object, error: str) -> str:
    """The text of a field validated before pydantic's own type check (so a number must be refused here)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(error)
    return value


def researchmap_id_of(value: object) -> str | None:
    """The permalink in `value` (an id or a researchmap address); None for empty; ValueError (Japanese) else."""
    text = _typed(value, RESEARCHMAP_ERROR).strip()
    if not text:
        return None
    if "/" in text:
        parts = urlsplit(text if "://" in text else f"https://{text}")
        path = [p for p in parts.path.split("/") if p]
        if parts.scheme not in ("http", "https") or parts.hostname not in RESEARCHMAP_HOSTS or not path:
            raise ValueError(RESEARCHMAP_ERROR)
        text = path[0]
    if not RESEARCHMAP_ID.fullmatch(text):
        raise ValueError(RESEARCHMAP_ERROR)
    return text


def kaken_id_of(value: object) -> str | None:
    """The 8-digit researcher number in `value` (the number, or a KAKEN/NRID address holding it); None for
    empty; ValueError (Japanese) else. Full-width digits and hyphens, as typed in Japanese forms, are allowed."""
    text = _typed(value, KAKEN_ERROR).strip().translate(str.maketrans("０１２３４５６７８９", "0123456789", "-－ "))
    if not text:
        return None
    if "/" in text or "?" in text:
        parts = urlsplit(text if "://" in text else f"https://{text}")
        numbers = re.findall(r"[0-9]{8,13}", f"{parts.path}?{parts.query}")
        if parts.hostname not in KAKEN_HOSTS or not numbers:
            raise ValueError(KAKEN_ERROR)
        text = numbers[-1][-8:]  # NRID addresses carry it as the last 8 digits of a 13-digit id
    if not KAKEN_ID.fullmatch(text):
        raise ValueError(KAKEN_ERROR)
    return text


def researchmap_url(researchmap_id: str | None) -> str | None:
    return f"https://researchmap.jp/{researchmap_id}" if researchmap_id else None


def kaken_url(kaken_id: str | None) -> str | None:
    return f"https://kaken.nii.ac.jp/ja/search/?qm={kaken_id}" if kaken_id else None
