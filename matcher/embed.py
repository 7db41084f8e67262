"""The encoder: a sentence-transformers model loaded from a local folder, never from a hub.

`TextEncoder` is what the engine, the benchmarks and the reports need of an
encoder; `Encoder` is the real one, and a benchmark may pass a stand-in (a
vector cache, or random vectors).

multilingual-e5 wants "query: " before a search text and "passage: " before a
document; the model folder carries those as the prompts "query" and "passage".

sentence-transformers truncates at the model's max_seq_length (512 tokens). A
longer text is split into overlapping windows of whole tokens, each window is
embedded, and the windows are averaged (weighted by their token counts) and
re-normalised, so nothing past the cut is lost.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from .encoder_backends import DEFAULT_BACKEND, load_model, model_name
from .errors import ModelNotReadyError
from .priority import FOREGROUND, ForegroundGate

# Hub look-ups fail on this network and must never be tried; set before the import below.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[1] / "models" / "multilingual-e5-small"

# Overlap keeps a sentence cut at a window edge whole in the neighbouring window.
WINDOW_OVERLAP_TOKENS = 64

# Background work is encoded in pieces of about this many windows of tokens, stepping aside between pieces.
# One window was too few for short texts: a model call of 2 demo-length seeds does 5.7 seeds per CPU-second, of 4
# 7.6, of 8 7.7 (2 cores, 2026-12-03), so one-window pieces (2–3 seeds) held a bulk import to half the encoder's
# rate. Two windows, with the pieces ordered by length (less padding), reach it; a match waits at most for one
# piece, about 0.3 s here.
PIECE_WINDOWS = 2


Vectors = NDArray[np.float32]  # one unit-length row per text


class TextEncoder(Protocol):
    """What the engine, the benchmarks and the reports use of an encoder."""

    @property
    def dim(self) -> int: ...

    @property
    def name(self) -> str:
        """The model's name: index fingerprints carry it, so that vectors of another model are never mixed in."""
        ...

    def encode_queries(self, texts: Sequence[str]) -> Vectors: ...

    def encode_passages(self, texts: Sequence[str]) -> Vectors: ...


class Encoder:
    """The real `TextEncoder`: a sentence-transformers model on the CPU."""

    def __init__(self, model_dir: Path | str = DEFAULT_MODEL_DIR, *, threads: int | None = None, batch_size: int = 32,
                 gate: ForegroundGate = FOREGROUND, backend: str = DEFAULT_BACKEND):
        """`backend`: where the model runs, one of encoder_backends.BACKENDS (PyTorch by default)."""
        model_dir = Path(model_dir)
        if not (model_dir / "modules.json").is_file():
            raise ModelNotReadyError(f"埋め込みモデルが見つかりません（{model_dir}）。"
                                     "セットアップ（make run または make setup）を実行してください。")
        import torch

        if threads:
            torch.set_num_threads(threads)
        self.model = load_model(model_dir, backend, threads)
        self.model_dir = model_dir
        self.backend = backend
        self.batch_size = batch_size
        self.gate = gate  # passages step aside for matches between pieces (priority.py)
        self.dim = _known(self._dimension(), "埋め込みの次元", model_dir)
        self.name = model_name(model_dir, backend)
        prompts = getattr(self.model, "prompts", {}) or {}
        self._prompt_names = ("query" if "query" in prompts else None, "passage" if "passage" in prompts else None)
        special = self.model.tokenizer.num_special_tokens_to_add(pair=False)
        longest_prompt = max((self._count_tokens(p) for p in prompts.values()), default=0)
        max_tokens = _known(self.model.max_seq_length, "入力の最大トークン数", model_dir)
        self.window_tokens = max_tokens - special - longest_prompt
        self.piece_tokens = PIECE_WINDOWS * self.window_tokens

    def encode_queries(self, texts: Sequence[str], *, show_progress: bool = False) -> Vectors:
        return self._encode(texts, self._prompt_names[0], show_progress)

    def encode_passages(self, texts: Sequence[str], *, show_progress: bool = False) -> Vectors:
        """Passages are background work: without a progress bar (a server's write, not a bulk command), they
        are encoded in pieces of about `PIECE_WINDOWS` windows, each after any running match (priority.py)."""
        return self._encode(texts, self._prompt_names[1], show_progress, background=not show_progress)

    # ------------------------------------------------------------------
    def _model_encode(self, pieces: Sequence[str], prompt_name: str | None, show_progress: bool = False) -> Vectors:
        vectors: Vectors = self.model.encode(list(pieces), prompt_name=prompt_name, batch_size=self.batch_size,
                                             normalize_embeddings=True, convert_to_numpy=True,
                                             show_progress_bar=show_progress).astype(np.float32, copy=False)
        return vectors

    def _step_aside_then(self, pieces: Sequence[str], prompt_name: str | None) -> Vectors:
        self.gate.step_aside()
        return self._model_encode(pieces, prompt_name)

    def _encode_in_pieces(self, pieces: Sequence[str], token_counts: Sequence[int],
                          prompt_name: str | None) -> Vectors:
        """`pieces` encoded a piece of about `piece_tokens` at a time, stepping aside before each; texts of like
        length share a piece (as sentence-transformers sorts one call's texts), and the rows come back in order."""
        order = np.argsort(-np.asarray(token_counts), kind="stable")
        vectors = np.empty((len(pieces), self.dim), dtype=np.float32)
        for start, end in token_chunks([token_counts[i] for i in order], self.piece_tokens):
            at = order[start:end]
            vectors[at] = self._step_aside_then([pieces[i] for i in at], prompt_name)
        return vectors

    def _dimension(self) -> int | None:
        # sentence-transformers 6 renamed get_sentence_embedding_dimension; 5 has only the old name
        get = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        dimension: int | None = get()
        return dimension

    def _count_tokens(self, text: str) -> int:
        return len(self.model.tokenizer(text, add_special_tokens=False)["input_ids"])

    def windows(self, text: str) -> list[tuple[str, int]]:
        """The text cut into windows that fit the model, with each window's token count."""
        # verbose=False: counting a long text is the point here, not a mistake to warn about
        enc = self.model.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        offsets = enc["offset_mapping"]
        n = len(offsets)
        if n <= self.window_tokens:
            return [(text, max(n, 1))]
        step = self.window_tokens - WINDOW_OVERLAP_TOKENS
        result: list[tuple[str, int]] = []
        for start in range(0, n, step):
            end = min(start + self.window_tokens, n)
            char_start = offsets[start][0]
            char_end = offsets[end - 1][1]
            result.append((text[char_start:char_end], end - start))
            if end == n:
                break
        return result

    def _encode(self, texts: Sequence[str], prompt_name: str | None, show_progress: bool,
                background: bool = False) -> Vectors:
        texts = list(texts)
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        pieces: list[str] = []
        owners: list[int] = []
        weights: list[int] = []
        for i, text in enumerate(texts):
            for piece, n_tokens in self.windows(text):
                pieces.append(piece)
                owners.append(i)
                weights.append(n_tokens)
        if background:
            vectors = self._encode_in_pieces(pieces, weights, prompt_name)
        else:
            vectors = self._model_encode(pieces, prompt_name, show_progress)
        if len(pieces) == len(texts):
            return vectors
        pooled = np.zeros((len(texts), self.dim), dtype=np.float32)
        np.add.at(pooled, np.asarray(owners), vectors * np.asarray(weights, dtype=np.float32)[:, None])
        pooled /= np.linalg.norm(pooled, axis=1, keepdims=True).clip(min=1e-12)
        return pooled


def token_chunks(token_counts: Sequence[int], budget: int) -> list[tuple[int, int]]:
    """Consecutive (start, end) slices of pieces, each of at most `budget` tokens (a longer piece alone)."""
    chunks: list[tuple[int, int]] = []
    start, total = 0, 0
    for i, n in enumerate(token_counts):
        if i > start and total + n > budget:
            chunks.append((start, i))
            start, total = i, 0
        total += n
    if start < len(token_counts):
        chunks.append((start, len(token_counts)))
    return chunks


def _known(value: int | None, what: str, model_dir: Path) -> int:
    """A size the model folder must declare; a folder without it is not a usable model."""
    if value is None:
        raise ModelNotReadyError(f"モデルの{what}が分かりません（{model_dir}）。モデルを変換し直してください。")
    return int(value)
