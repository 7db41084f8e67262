"""The batch search sharded over a Ray cluster: each shard's documents in one actor, the picks merged exactly.

    with ray_session(address=None), RayShardedSearch(collection, doc_ids, vocabulary, shards=4) as search:
        for found, within in search.search_blocks(blocks, group_columns): ...

The documents are split by id ranges (`ShardData.split`: equal sizes, the BM25 weights computed once from
the whole index, so every shard scores with the global IDF and average length). Each shard is a
`search_shard.ShardSearch` living in a Ray actor, which holds its vectors (in float64) for the whole
report; for each block of queries every actor returns its picks (its own dense and BM25 top N with
both scores) and a Ray task merges them with `search_batch.merge_block`, the very merge of the
single-process path, so the candidates and scores are those of `BatchSearch`, bit for bit
(tests/test_reports_sharded.py). The merge costs about 1.1 ms per need and shard (docs/scale-out.md
section 4): on the driver it was the limit of a many-shard report, so it runs in the cluster and the
driver receives only each block's merged candidates. One block is searched ahead while the caller
aggregates the last.

Ray is imported only here, and only when a sharded search starts: the engine and the API never load it.
`ray_session` joins the cluster at `address` (`ray://…` or `host:port`; `"auto"` a cluster started on
this node by `ray start`); without one, Ray's own search (`RAY_ADDRESS`, then a cluster `ray start`ed
on this node), else a new local one with this machine's cores. A session already open (a test's
cluster) is used as it is and left open. docs/scale-out.md runs it on several nodes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType
from typing import Any

import numpy as np

from .index import Collection
from .rank import DEFAULT_DENSE_WEIGHT
from .search import DEFAULT_CANDIDATES
from .search_batch import BatchSearch, Block, BlockSearch, Found, dense_weight_of, merge_block
from .search_shard import ShardData, ShardSearch

AHEAD = 1  # blocks searched ahead of the one being merged: the actors work while the caller aggregates


@contextmanager
def ray_session(address: str | None = None) -> Iterator[None]:
    """A connection to a Ray cluster for the duration of the block: the one already open, else `address`, else
    the one Ray finds (`RAY_ADDRESS`, `ray start` on this node), else a new local cluster with this machine's
    cores (no dashboard: nothing is served, nothing is fetched)."""
    import ray

    if ray.is_initialized():
        yield
        return
    ray.init(address=address, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


class RayShardedSearch:
    """`BatchSearch`'s `search_blocks` with the documents in `shards` Ray actors (a session must be open)."""

    def __init__(self, collection: Collection, doc_ids: np.ndarray, vocabulary: Iterable[str], *, shards: int,
                 candidates: int = DEFAULT_CANDIDATES, dense_weight: float = DEFAULT_DENSE_WEIGHT,
                 mode: str = "hybrid"):
        import ray

        self.k = candidates
        self.dense_weight = dense_weight_of(mode, dense_weight)
        # a share of the cluster's cores each, at most one: they are scheduled even when shards > cores
        resources: dict[str, float] = ray.cluster_resources()  # type: ignore[no-untyped-call]  # ray leaves it bare
        cpus = min(1.0, resources.get("CPU", 1.0) / shards)
        actor = ray.remote(ShardSearch).options(num_cpus=cpus)
        parts = ShardData.whole(collection, doc_ids, vocabulary).split(shards)
        self.actors: list[Any] = [actor.remote(part, candidates=candidates, mode=mode) for part in parts]

    def search_blocks(self, blocks: Iterable[Block],
                      group_columns: Mapping[int, np.ndarray]) -> Iterator[tuple[Found, Found]]:
        import ray

        groups_ref = ray.put(dict(group_columns))  # once per report, read by every actor from the object store
        # no core of its own: the actors may hold every core, and a merge waits on their picks anyway
        merge = ray.remote(_merge_picks).options(num_cpus=0)
        pending: deque[Any] = deque()
        for vectors, terms, groups in blocks:
            block = [ray.put(vectors), ray.put(list(terms)), ray.put(groups)]  # put once, read by every actor
            picks = [a.picks.remote(*block, groups_ref) for a in self.actors]
            pending.append(merge.remote(len(vectors), self.k, self.dense_weight, *picks))  # refs: resolved first
            if len(pending) > AHEAD:
                yield ray.get(pending.popleft())
        while pending:
            yield ray.get(pending.popleft())

    def close(self) -> None:
        import ray

        for actor in self.actors:
            ray.kill(actor)
        self.actors = []

    def __enter__(self) -> RayShardedSearch:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()


def _merge_picks(n: int, k: int, dense_weight: float, *shard_picks: Any) -> tuple[Found, Found]:
    """A Ray task: one block's picks from every shard, merged (`search_batch.merge_block`)."""
    return merge_block(shard_picks, n, k, dense_weight)


@contextmanager
def open_batch_search(collection: Collection, doc_ids: np.ndarray, vocabulary: Iterable[str], *, shards: int = 1,
                      ray_address: str | None = None, candidates: int = DEFAULT_CANDIDATES,
                      dense_weight: float = DEFAULT_DENSE_WEIGHT, mode: str = "hybrid") -> Iterator[BlockSearch]:
    """The batch search of these documents: in this process for one shard, else over Ray (joined or started)."""
    if shards < 1:
        raise ValueError("shards must be at least 1")
    if shards == 1:
        yield BatchSearch(collection, doc_ids, vocabulary, candidates=candidates, dense_weight=dense_weight,
                          mode=mode)
        return
    with ray_session(ray_address), RayShardedSearch(collection, doc_ids, vocabulary, shards=shards,
                                                    candidates=candidates, dense_weight=dense_weight,
                                                    mode=mode) as search:
        yield search
