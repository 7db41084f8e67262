"""Where the encoder's model runs: PyTorch (the default) or OpenVINO, through sentence-transformers' `backend`.

Every back-end reads the local model folder only. OpenVINO's model is exported once from the folder's PyTorch
weights (optimum-intel, offline) into a cache folder beside it, `models/encoder-backends/<model>/<export>/`,
a sentence-transformers folder with an `openvino/` sub-folder; later loads reuse it. The export remembers the
weights it came from, so a model converted again is exported again.

    torch               PyTorch fp32 (the default)
    openvino            OpenVINO, fp32 weights, fp32 arithmetic
    openvino-int8       OpenVINO, int8 weights (nncf, weight-only, per channel), fp32 arithmetic
    openvino-bf16       OpenVINO, fp32 weights, bf16 arithmetic       } only where OpenVINO finds bf16 on the
    openvino-int8-bf16  OpenVINO, int8 weights, bf16 arithmetic       } CPU (avx512_bf16 or AMX): detected

OpenVINO picks bf16 by itself on a CPU that has it, so the same back-end would give other vectors on another
machine; here the arithmetic is always named and set (INFERENCE_PRECISION_HINT), never left to the CPU.
sentence-transformers' ONNX back-end is not listed: its optimum-onnx needs transformers < 4.58, and
sentence-transformers 5 and later need transformers 5 (`matcher bench encoders` tries it and says why it fails).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ModelNotReadyError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


@dataclass(frozen=True)
class Backend:
    name: str
    export: str | None  # the exported folder's name (None: the PyTorch weights as they are)
    precision: str = "f32"  # OpenVINO's arithmetic: "f32" or "bf16"


BACKENDS: dict[str, Backend] = {b.name: b for b in (
    Backend("torch", None),
    Backend("openvino", "openvino"),
    Backend("openvino-int8", "openvino-int8"),
    Backend("openvino-bf16", "openvino", "bf16"),
    Backend("openvino-int8-bf16", "openvino-int8", "bf16"),
)}
DEFAULT_BACKEND = "torch"
EXPORT_STAMP = "exported-from.json"  # in each exported folder: the weights it was exported from


def backend_of(name: str) -> Backend:
    try:
        return BACKENDS[name]
    except KeyError:
        raise ModelNotReadyError(f"埋め込みの実行方式「{name}」は使えません。"
                                 f"次のいずれかを指定してください: {', '.join(BACKENDS)}") from None


def model_name(model_dir: Path, backend: str) -> str:
    """The vectors' model id. PyTorch keeps the folder's name, so vectors stored before back-ends existed stay
    valid; any other back-end computes in another order (and int8 or bf16 rounds differently), so its vectors
    carry a suffix of their own, and an index never mixes two back-ends' vectors (index fingerprints carry it)."""
    return model_dir.name if backend == DEFAULT_BACKEND else f"{model_dir.name}+{backend}"


def exported_dir(model_dir: Path, export: str) -> Path:
    return model_dir.parent / "encoder-backends" / model_dir.name / export


def load_model(model_dir: Path, backend: str, threads: int | None) -> SentenceTransformer:
    """The sentence-transformers model of `backend`, from the local folder (exporting it first if needed)."""
    from sentence_transformers import SentenceTransformer

    spec = backend_of(backend)
    if spec.export is None:
        return SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    if spec.precision == "bf16" and "BF16" not in openvino_capabilities():
        raise ModelNotReadyError(f"このCPUでは bf16 の計算ができません（実行方式「{backend}」）。"
                                 "openvino または openvino-int8 を指定してください。")
    folder = prepare(model_dir, spec.export)
    ov_config: dict[str, Any] = {"INFERENCE_PRECISION_HINT": spec.precision, "PERFORMANCE_HINT": "LATENCY"}
    if threads:
        ov_config["INFERENCE_NUM_THREADS"] = threads
    with _quiet():
        return SentenceTransformer(str(folder), device="cpu", backend="openvino", local_files_only=True,
                                   model_kwargs={"ov_config": ov_config})


def prepare(model_dir: Path, export: str) -> Path:
    """The exported folder, made from the PyTorch weights unless it is there and of the same weights."""
    target = exported_dir(model_dir, export)
    stamp = _weights_stamp(model_dir)
    if _stamp_of(target) == stamp:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # exported into a temporary folder beside the target and moved in whole: a worker that exports at the same
    # time, or an export cut short, never leaves a half-written folder that looks finished
    scratch = Path(tempfile.mkdtemp(prefix=f".{export}-", dir=target.parent))
    try:
        _export(model_dir, export, scratch)
        (scratch / EXPORT_STAMP).write_text(json.dumps(stamp, ensure_ascii=False), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        os.replace(scratch, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def _export(model_dir: Path, export: str, into: Path) -> None:
    from sentence_transformers import SentenceTransformer

    model_kwargs: dict[str, Any] = {}
    if export == "openvino-int8":
        from optimum.intel import OVWeightQuantizationConfig

        model_kwargs["quantization_config"] = OVWeightQuantizationConfig(bits=8)
    with _quiet():
        model = SentenceTransformer(str(model_dir), device="cpu", backend="openvino", local_files_only=True,
                                    model_kwargs=model_kwargs)
        model.save(str(into))


def _weights_stamp(model_dir: Path) -> dict[str, object]:
    weights = model_dir / "model.safetensors"
    if not weights.is_file():
        raise ModelNotReadyError(f"埋め込みモデルの重みが見つかりません（{weights}）。"
                                 "セットアップ（make setup）を実行してください。")
    status = weights.stat()
    return {"weights": str(weights.resolve()), "bytes": status.st_size, "modified_ns": status.st_mtime_ns}


def _stamp_of(folder: Path) -> object:
    try:
        return json.loads((folder / EXPORT_STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def openvino_capabilities() -> list[str]:
    """What OpenVINO finds on this CPU ("FP32", "BF16", "INT8", …): detected, not assumed from the model name."""
    import openvino

    capabilities: list[str] = openvino.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    return capabilities


def cpu_flags() -> dict[str, bool]:
    """The vector instructions the kernel reports (Linux /proc/cpuinfo; all false where it cannot be read)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        text = ""
    flags = set(next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), []))
    return {"avx2": "avx2" in flags, "avx512f": "avx512f" in flags, "avx512_vnni": "avx512_vnni" in flags,
            "avx512_bf16": "avx512_bf16" in flags, "amx_bf16": "amx_bf16" in flags, "amx_int8": "amx_int8" in flags}


@contextmanager
def _quiet() -> Iterator[None]:
    """The export traces the model and warns about it (TracerWarning, deprecations in optimum): noise for this
    project's users, and the tests turn every warning into a failure."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
