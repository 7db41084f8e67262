"""The engine needs of an encoder only what `matcher.embed.TextEncoder` declares: a stand-in will do."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from matcher.embed import TextEncoder, Vectors
from matcher.engine import Engine


class CharacterBigrams:
    """Hashed character bigrams: a deterministic, model-free encoder with the TextEncoder members and nothing else."""

    __slots__ = ()
    dim = 64
    name = "character-bigrams"

    def encode_queries(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts)

    def encode_passages(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts)

    def _encode(self, texts: Sequence[str]) -> Vectors:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for a, b in zip(text, text[1:], strict=False):
                out[row, hashlib.blake2b((a + b).encode(), digest_size=2).digest()[0] % self.dim] += 1
        out /= np.linalg.norm(out, axis=1, keepdims=True).clip(min=1e-12)
        return out


def test_a_stand_in_encoder_drives_sync_match_and_reverse_match(golden_corpus, tmp_path):
    encoder: TextEncoder = CharacterBigrams()
    engine, seeds, needs = Engine.open(tmp_path, encoder, seeds=golden_corpus.seeds, needs=golden_corpus.needs,
                                       universities=golden_corpus.universities.values())
    assert seeds.added == len(golden_corpus.seeds) and needs.added == len(golden_corpus.needs)
    result = engine.match("稲わらともみ殻をガス化して農業ハウスの熱源にしたい", "15", top_k=3)
    assert result.partners[0].name == "長岡技術科学大学"  # word overlap alone finds it
    assert result.best_in_region is not None
    assert engine.needs_for_seed(1, top_k=3)
    _, seeds, needs = Engine.open(tmp_path, encoder, seeds=golden_corpus.seeds, needs=golden_corpus.needs)
    assert not seeds.changed and not needs.changed  # the saved index carries the encoder's name
