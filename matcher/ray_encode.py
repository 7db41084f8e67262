"""Texts encoded by a pool of Ray actors, one encoder each: a `TextEncoder` for bulk embedding on a cluster.

    with ray_session(address):                                    # matcher/shards.py
        encoder = RayEncoder(EncoderSpec(model_dir), workers=8)
        embed_missing(db, encoder)   # api/reembed.py: batches of texts, each stored and committed

Each actor loads the model once (`EncoderSpec.build`, one torch thread: on a node with several actors,
threads beyond the cores only slow each other) and keeps it for every batch. A batch of texts is cut into
one contiguous piece per actor and the vectors come back in the texts' order, so the caller sees an
encoder like any other: `matcher-admin embed --ray-workers N` runs the very loop of the single-process
command (api/reembed.py), which stores each batch with `api/embeddings.store_vectors` and commits it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .embed import DEFAULT_MODEL_DIR, Encoder, TextEncoder, Vectors
from .encoder_backends import DEFAULT_BACKEND


class EncoderFactory(Protocol):
    """What an actor is sent: picklable, and able to build the encoder where it lands."""

    def build(self) -> TextEncoder: ...


@dataclass(frozen=True)
class EncoderSpec:
    """How each actor builds its encoder: picklable, so that it travels to every node."""

    model_dir: Path = DEFAULT_MODEL_DIR
    backend: str = DEFAULT_BACKEND
    threads: int = 1

    def build(self) -> TextEncoder:
        return Encoder(self.model_dir, threads=self.threads, backend=self.backend)


class EncoderWorker:
    """One actor's encoder (`ray.remote(EncoderWorker)`)."""

    def __init__(self, spec: EncoderFactory):
        self.encoder = spec.build()

    def describe(self) -> tuple[str, int]:
        return self.encoder.name, self.encoder.dim

    def encode(self, texts: Sequence[str], passages: bool) -> Vectors:
        return self.encoder.encode_passages(texts) if passages else self.encoder.encode_queries(texts)


class RayEncoder:
    """A `TextEncoder` whose batches are shared among `workers` actors (a Ray session must be open)."""

    def __init__(self, spec: EncoderFactory, workers: int, *, threads: int = 1):
        import ray

        if workers < 1:
            raise ValueError("workers must be at least 1")
        resources: dict[str, float] = ray.cluster_resources()  # type: ignore[no-untyped-call]  # ray leaves it bare
        cpus = min(float(threads), resources.get("CPU", 1.0) / workers)  # scheduled even beyond the cores
        actor = ray.remote(EncoderWorker).options(num_cpus=cpus)
        self.actors: list[Any] = [actor.remote(spec) for _ in range(workers)]
        self._name, self._dim = ray.get(self.actors[0].describe.remote())

    @property
    def name(self) -> str:
        return str(self._name)

    @property
    def dim(self) -> int:
        return int(self._dim)

    def encode_queries(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts, passages=False)

    def encode_passages(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts, passages=True)

    def _encode(self, texts: Sequence[str], *, passages: bool) -> Vectors:
        import ray

        texts = list(texts)
        cuts = np.linspace(0, len(texts), len(self.actors) + 1).astype(int)  # one contiguous piece per actor
        refs = [actor.encode.remote(texts[a:b], passages)
                for actor, a, b in zip(self.actors, cuts[:-1], cuts[1:], strict=True) if b > a]
        if not refs:
            return np.empty((0, self.dim), dtype=np.float32)
        vectors: Vectors = np.vstack(ray.get(refs)).astype(np.float32, copy=False)
        return vectors

    def close(self) -> None:
        import ray

        for actor in self.actors:
            ray.kill(actor)
        self.actors = []
