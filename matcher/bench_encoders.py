"""`matcher bench encoders`: each encoder back-end's speed and quality, against PyTorch fp32, in one run.

Speed: one 250-character need (the first demo need, cut to 250 characters), encoded one at a time, wall and CPU
time per query (p50/p95); and passages per second at batch 32 (JSQuAD passages). The back-ends' speed is measured
in interleaved rounds (each back-end a few queries, then the next), so that a machine whose load changes during
the run slows them all alike, and their ratios hold.

Quality: JSTS Spearman and JSQuAD retrieval (bench.similarity and bench.retrieval, as `matcher bench similarity` /
`retrieval` print them), and each figure's drop against PyTorch fp32. A back-end is kept only if no drop exceeds
`MAX_DROP` (issue 16). The JSQuAD sample, where one is asked for, is a fixed seeded sample of the queries over the
whole corpus, so every back-end answers the same questions.
"""

from __future__ import annotations

import gc
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from . import bench
from .embed import Encoder
from .encoder_backends import BACKENDS, DEFAULT_BACKEND, cpu_flags, openvino_capabilities

Figures = bench.Figures
MAX_DROP = 0.005  # issue 16: a back-end may cost at most this much of any quality figure
NEED_CHARACTERS = 250
SAMPLE_SEED = 16  # the JSQuAD query sample's seed (the number): the same sample on every run
QUALITY_KEYS = ("jsts_spearman", "jsquad_dense_nDCG@10", "jsquad_dense_R@1", "jsquad_hybrid_nDCG@10")
Log = Callable[[str], None]


def need_text(needs_path: Path) -> str:
    """A real need of 250 characters: the first demo need's title and description."""
    first = bench.read_jsonl(needs_path)[0]
    return f"{first['title']}\n{first['description']}"[:NEED_CHARACTERS]


def percentile(values: Sequence[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def query_times(encoder: Encoder, text: str, repeats: int) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds of `repeats` single-query encodings (CPU: all the process's threads)."""
    wall, cpu = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        encoder.encode_queries([text])
        wall.append((time.perf_counter() - w) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return wall, cpu


def passages_per_second(encoder: Encoder, passages: Sequence[str]) -> dict[str, float]:
    """The model's own throughput at batch 32 (sentence-transformers' encode, the passage prompt)."""
    w, c = time.perf_counter(), time.process_time()
    prompt = "passage" if "passage" in (encoder.model.prompts or {}) else None
    encoder.model.encode(list(passages), prompt_name=prompt, batch_size=32,
                         normalize_embeddings=True, convert_to_numpy=True)
    wall, cpu = time.perf_counter() - w, time.process_time() - c
    return {"passages_per_s": round(len(passages) / wall, 1), "passages_per_cpu_s": round(len(passages) / cpu, 1)}


def jsquad_sample(folder: Path, queries: int, into: Path) -> Path:
    """A BEIR folder of `queries` questions drawn with SAMPLE_SEED, over the whole corpus (links, not copies)."""
    rows = bench.read_jsonl(folder / "queries.jsonl")
    chosen = random.Random(SAMPLE_SEED).sample(rows, queries) if 0 < queries < len(rows) else rows
    into.mkdir(parents=True, exist_ok=True)
    with open(into / "queries.jsonl", "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in chosen)
    for name in ("corpus.jsonl", "qrels.tsv"):
        (into / name).symlink_to((folder / name).resolve())
    return into


def quality(encoder: Encoder, jsts: Path, jsquad: Path) -> Figures:
    started = time.perf_counter()
    similarity = bench.similarity(jsts, encoder)
    jsts_s = time.perf_counter() - started
    retrieval = bench.retrieval(jsquad, encoder)
    dense, hybrid = retrieval["dense"], retrieval["hybrid"]
    assert isinstance(dense, dict) and isinstance(hybrid, dict)
    return {"jsts_spearman": similarity["spearman"], "jsts_pairs": similarity["pairs"],
            "jsquad_queries": retrieval["queries"], "jsquad_documents": retrieval["documents"],
            **{f"jsquad_dense_{k}": v for k, v in dense.items() if k != "queries"},
            **{f"jsquad_hybrid_{k}": v for k, v in hybrid.items() if k != "queries"},
            "jsts_seconds": round(jsts_s, 1), "jsquad_seconds": round(time.perf_counter() - started - jsts_s, 1)}


def against(row: Figures, baseline: Figures) -> Figures:
    """How much each quality figure fell against PyTorch fp32 (negative: it rose), whether every drop is within
    MAX_DROP, and how many times faster one query is (wall p50)."""
    drop = {k: round(_number(baseline[k]) - _number(row[k]), 4) for k in QUALITY_KEYS if k in row and k in baseline}
    return {"drop": drop, "quality_ok": bool(drop) and max(drop.values()) <= MAX_DROP,
            "speedup_wall_p50": round(_number(baseline["query_wall_ms_p50"]) / _number(row["query_wall_ms_p50"]), 2)}


def _number(value: object) -> float:
    assert isinstance(value, int | float), value
    return float(value)


def onnx_probe() -> Figures:
    """sentence-transformers' ONNX back-end loads through optimum.onnxruntime: try the import it makes, say why
    it fails."""
    try:
        from optimum.onnxruntime import ORTModelForCausalLM, ORTModelForFeatureExtraction  # noqa: F401
    except Exception as e:  # an import of a third-party stack fails in many ways; the reason is the figure
        return {"available": False, "reason": f"{type(e).__name__}: {e}"}
    return {"available": True, "reason": "optimum.onnxruntime imports; not measured here"}


Load = Callable[[str], Encoder]  # back-end name → its encoder


def load_encoders(names: Sequence[str], load: Load, log: Log) -> dict[str, Encoder | str]:
    """Each back-end's encoder, or why it does not run here."""
    loaded: dict[str, Encoder | str] = {}
    for name in names:
        started = time.perf_counter()
        try:
            loaded[name] = load(name)
            log(f"{name}: loaded in {time.perf_counter() - started:.1f} s")
        except Exception as e:  # a missing optional package, an export that fails, a CPU without bf16
            loaded[name] = f"{type(e).__name__}: {e}"
            log(f"{name}: not available ({loaded[name]})")
    return loaded


def speed(encoders: dict[str, Encoder], text: str, passages: Sequence[str], *, rounds: int,
          per_round: int) -> dict[str, Figures]:
    for encoder in encoders.values():  # warm-up: first calls allocate and compile
        encoder.encode_queries([text, text])
    walls: dict[str, list[float]] = {n: [] for n in encoders}
    cpus: dict[str, list[float]] = {n: [] for n in encoders}
    for _ in range(rounds):
        for name, encoder in encoders.items():
            wall, cpu = query_times(encoder, text, per_round)
            walls[name] += wall
            cpus[name] += cpu
    figures: dict[str, Figures] = {}
    for name, encoder in encoders.items():
        figures[name] = {"query_wall_ms_p50": round(statistics.median(walls[name]), 1),
                         "query_wall_ms_p95": round(percentile(walls[name], 95), 1),
                         "query_cpu_ms_p50": round(statistics.median(cpus[name]), 1),
                         "query_cpu_ms_p95": round(percentile(cpus[name], 95), 1),
                         "queries_timed": len(walls[name]), **passages_per_second(encoder, passages)}
    return figures


def run(model_dir: Path, *, jsts: Path, jsquad: Path, needs: Path, backends: Sequence[str] = tuple(BACKENDS),
        threads: int = 2, jsquad_queries: int = 0, rounds: int = 5, per_round: int = 10, passages: int = 128,
        log: Log = lambda _: None, load: Load | None = None) -> Figures:
    """The table of issue 16, as one JSON object: a row per back-end, PyTorch fp32 first (the baseline).
    `load`: how a back-end's encoder is made (default: `Encoder(model_dir, threads=threads, backend=name)`)."""
    import torch

    names = [DEFAULT_BACKEND, *(b for b in backends if b != DEFAULT_BACKEND)]
    result: Figures = {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "load_average_start": _load(),
                       "cpu_flags": cpu_flags(), "openvino_capabilities": _openvino_capabilities(),
                       "threads": threads, "need_characters": NEED_CHARACTERS, "max_drop": MAX_DROP}
    loaded = load_encoders(names, load or (lambda name: Encoder(model_dir, threads=threads, backend=name)), log)
    encoders = {n: e for n, e in loaded.items() if isinstance(e, Encoder)}
    rows: dict[str, Figures] = {n: {"backend": n, "available": False, "reason": e}
                                for n, e in loaded.items() if isinstance(e, str)}
    log(f"speed: {rounds} rounds × {per_round} queries per back-end, interleaved")
    timed = speed(encoders, need_text(needs), passage_texts(jsquad, passages), rounds=rounds, per_round=per_round)
    for name, figures in timed.items():
        rows[name] = {"backend": name, "available": True, "model_id": encoders[name].name,
                      "torch_threads": torch.get_num_threads(), **figures}
    result["load_average_after_speed"] = _load()
    result["jsquad_sample"] = {"queries": jsquad_queries, "seed": SAMPLE_SEED} if jsquad_queries else "full"
    with tempfile.TemporaryDirectory() as scratch:
        folder = jsquad_sample(jsquad, jsquad_queries, Path(scratch) / "jsquad") if jsquad_queries else jsquad
        for name in list(encoders):
            log(f"{name}: JSTS and JSQuAD")
            rows[name].update(quality(encoders.pop(name), jsts, folder))
            log(json.dumps(rows[name], ensure_ascii=False))  # a long run cut short still leaves its rows
            gc.collect()  # each model is a few hundred MB: one at a time
    compare_to_baseline(rows)
    result["onnx"] = onnx_probe()
    result["load_average_end"] = _load()
    result["backends"] = [rows[n] for n in names]
    return result


def passage_texts(jsquad: Path, count: int) -> list[str]:
    """The first `count` JSQuAD passages, as bench.retrieval embeds them (title and text)."""
    corpus = bench.read_jsonl(jsquad / "corpus.jsonl")[:count]
    return [" ".join(p for p in (d.get("title", ""), d.get("text", "")) if p) for d in corpus]


def compare_to_baseline(rows: dict[str, Figures]) -> None:
    baseline = rows[DEFAULT_BACKEND]
    if not baseline.get("available"):
        return
    for name, row in rows.items():
        if row.get("available") and name != DEFAULT_BACKEND:
            row.update(against(row, baseline))


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _openvino_capabilities() -> list[str] | str:
    try:
        return openvino_capabilities()
    except ImportError as e:
        return f"OpenVINO がありません: {e}"
