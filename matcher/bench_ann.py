"""`matcher bench scale --dense-only`: the IVF index alone on text-like vectors, nprobe by nprobe (issue 16).

Where a whole engine of N seeds is too slow to build and match on this machine (10^6: BM25, records and
exact reference matches take most of an hour when the machine is busy), this measures the dense stage
only: N text-like vectors (clustered_vectors.py), an IVF index trained as ann.py trains it, need-like
queries, and for each nprobe the recall of the exact dense top k (candidates re-scored exactly, as search.py
does) and the CPU milliseconds per search (candidates and exact re-scoring), beside the exact float32
product with every vector. Printed as JSON.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import clustered_vectors
from .ann import AnnSettings, exact_top, recall_of, train


def dense_sweep(n: int, settings: AnnSettings, *, queries: int = 60, ks: Sequence[int] = (200, 1000),
                nprobes: Sequence[int] = (64, 128, 256, 512, 1024, 2048), rng_seed: int = 0) -> dict[str, Any]:
    model = clustered_vectors.fit(rng_seed)
    rng = np.random.default_rng(rng_seed + 3)
    vectors, asked = model.seeds(n, rng), model.queries(queries, rng)
    ids = np.arange(1, n + 1, dtype=np.int64)
    started = time.process_time()
    ann = train(ids, vectors, settings)
    out: dict[str, Any] = {"benchmark": "scale --dense-only", "seeds": n, "queries": queries,
                           "train_cpu_seconds": round(time.process_time() - started, 1),
                           "calibrated": ann.describe(), "exact_product_ms": _exact_ms(vectors, asked), "sweep": []}
    for k in ks:
        exact = exact_top(asked, vectors, ids, k)
        for nprobe in (p for p in nprobes if p <= ann.nlist):
            ann.nprobe = nprobe
            recall = recall_of(ann, asked, vectors, ids, exact, k)
            out["sweep"].append({"k": k, "nprobe": nprobe, "recall": round(recall, 4),
                                 "ms_per_search": _search_ms(ann, vectors, asked, k)})
    out["machine"] = {"cpus": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()]}
    return out


def _exact_ms(vectors: np.ndarray, queries: np.ndarray) -> float:
    vectors @ queries[0]  # warm-up: the first product starts BLAS
    started = time.thread_time()
    for query in queries:
        vectors @ query
    return round((time.thread_time() - started) / len(queries) * 1000, 2)


def _search_ms(ann: Any, vectors: np.ndarray, queries: np.ndarray, k: int) -> float:
    """CPU ms of the candidates and their exact re-scoring (ids are rows + 1 here)."""
    started = time.thread_time()
    for query in queries:
        found = ann.candidates(query, k)
        vectors[found - 1].astype(np.float64) @ query.astype(np.float64)
    return round((time.thread_time() - started) / len(queries) * 1000, 2)
