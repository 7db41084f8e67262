"""Files of an index folder written safely: in full beside the old one, fsynced, then moved into place."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .errors import IndexFormatError

CONFIG_FILE = "config.json"  # the folder's manifest, written last


def read_config(directory: Path) -> dict[str, Any]:
    """The folder's config.json (its manifest); IndexFormatError when it is missing or not a JSON object."""
    try:
        config = json.loads((Path(directory) / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise IndexFormatError(f"索引を読み込めません（{directory}）: {e}") from e
    if not isinstance(config, dict):
        raise IndexFormatError(f"索引の設定ファイルが壊れています（{directory}）。")
    return config


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def written_beside(path: Path, data: bytes) -> str:
    """`data` in a new temp file beside `path`, on disk (fsynced); the temp file's path. Nothing is left behind
    when writing fails."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp
