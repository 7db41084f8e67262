"""The encoder's back-ends (issue 16): each loads from the local folder and encodes, each names its vectors apart,
and `matcher bench encoders` prints its figures. Speed is the benchmark's business, never asserted here."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from matcher.encoder_backends import BACKENDS, DEFAULT_BACKEND, backend_of, model_name
from matcher.errors import ModelNotReadyError

HAS_OPENVINO = all(importlib.util.find_spec(m) is not None for m in ("openvino", "optimum"))
needs_openvino = pytest.mark.skipif(not HAS_OPENVINO, reason="OpenVINO and optimum-intel are not installed")
TEXTS = ["搾乳ロボットのデータから乳房炎を早く見つけたい", "食品工場の廃液から有用な成分を回収する技術"]


def test_every_backend_names_its_vectors_apart_and_torch_keeps_the_folder_name():
    folder = Path("models/multilingual-e5-small")
    names = {model_name(folder, backend) for backend in BACKENDS}
    assert len(names) == len(BACKENDS)
    assert model_name(folder, DEFAULT_BACKEND) == "multilingual-e5-small"  # vectors stored before issue 16 stay valid
    assert model_name(folder, "openvino-int8") == "multilingual-e5-small+openvino-int8"


def test_an_unknown_backend_is_refused_with_the_choices():
    with pytest.raises(ModelNotReadyError, match="openvino-int8"):
        backend_of("onnx-int8")


def test_the_setting_names_the_backend_and_the_model_id(monkeypatch, tmp_path):
    from pydantic import ValidationError

    from api.settings import Settings

    monkeypatch.setenv("MATCHER_ENCODER_BACKEND", "openvino-int8")
    settings = Settings(data_dir=tmp_path)
    assert settings.encoder_backend == "openvino-int8"
    assert settings.encoder_model_id == f"{settings.model_dir.name}+openvino-int8"
    monkeypatch.setenv("MATCHER_ENCODER_BACKEND", "cuda")
    with pytest.raises(ValidationError, match="MATCHER_ENCODER_BACKEND"):
        Settings(data_dir=tmp_path)


@pytest.fixture(scope="module")
def int8_encoder(model_dir):
    from matcher.embed import Encoder

    return Encoder(model_dir, threads=2, backend="openvino-int8")  # exported once into models/encoder-backends/


@needs_openvino
def test_openvino_int8_loads_from_the_local_folder_and_encodes_close_to_torch(int8_encoder, encoder):
    assert int8_encoder.name == f"{encoder.name}+openvino-int8" and int8_encoder.dim == encoder.dim
    queries, reference = int8_encoder.encode_queries(TEXTS), encoder.encode_queries(TEXTS)
    np.testing.assert_allclose(np.linalg.norm(queries, axis=1), 1.0, atol=1e-5)
    assert np.all(np.sum(queries * reference, axis=1) > 0.99)  # int8 weights: close to, not equal to, fp32
    # the query and passage prompts still apply: the same text embeds differently as each
    assert np.all(np.sum(queries * int8_encoder.encode_passages(TEXTS), axis=1) < 0.999)


@needs_openvino
def test_a_later_load_reuses_the_export_and_a_changed_model_is_exported_again(int8_encoder, model_dir):
    from matcher.encoder_backends import EXPORT_STAMP, exported_dir, prepare

    folder = exported_dir(model_dir, "openvino-int8")
    weights = folder / "openvino" / "openvino_model.bin"
    before = weights.stat().st_mtime_ns
    assert prepare(model_dir, "openvino-int8") == folder and weights.stat().st_mtime_ns == before
    stamp = json.loads((folder / EXPORT_STAMP).read_text(encoding="utf-8"))
    assert stamp["bytes"] == (model_dir / "model.safetensors").stat().st_size


def tiny_data(root: Path) -> tuple[Path, Path, Path]:
    """A few JSTS pairs, a four-document BEIR folder and one need: enough for every figure the bench prints."""
    jsts = root / "jsts.jsonl"
    pairs = [("猫が窓辺で眠っている。", "窓のそばで猫が寝ている。", 4.6),
             ("猫が窓辺で眠っている。", "株価が急落した。", 0.2),
             ("列車が駅に着いた。", "電車が駅に到着した。", 4.8),
             ("雨が降っている。", "晴れて暑い日だ。", 0.8)]
    jsts.write_text("".join(json.dumps({"sentence1": a, "sentence2": b, "score": s}, ensure_ascii=False) + "\n"
                            for a, b, s in pairs), encoding="utf-8")
    beir = root / "jsquad"
    beir.mkdir()
    docs = ["梅雨は東アジアの雨季である。", "富士山は日本で最も高い山である。", "寿司は酢飯と魚の料理である。",
            "新幹線は日本の高速鉄道である。"]
    questions = ["梅雨とは何か", "日本で最も高い山は", "寿司の材料は", "日本の高速鉄道は"]
    (beir / "corpus.jsonl").write_text("".join(json.dumps({"_id": f"d{i}", "title": "", "text": t},
                                                          ensure_ascii=False) + "\n" for i, t in enumerate(docs)),
                                       encoding="utf-8")
    (beir / "queries.jsonl").write_text("".join(json.dumps({"_id": f"q{i}", "text": t}, ensure_ascii=False) + "\n"
                                                for i, t in enumerate(questions)), encoding="utf-8")
    (beir / "qrels.tsv").write_text("query_id\tcorpus_id\tscore\n" + "".join(f"q{i}\td{i}\t1\n" for i in range(4)),
                                    encoding="utf-8")
    needs = root / "needs.jsonl"
    needs.write_text(json.dumps({"title": "乳房炎の早期発見", "description": "搾乳ロボットのデータを活かしたい。" * 20},
                                ensure_ascii=False) + "\n", encoding="utf-8")
    return jsts, beir, needs


def test_the_bench_prints_every_figure_for_each_backend(model_dir, encoder, tmp_path):
    from matcher.bench_encoders import NEED_CHARACTERS, need_text, run
    from matcher.embed import Encoder

    jsts, beir, needs = tiny_data(tmp_path)
    assert len(need_text(needs)) == NEED_CHARACTERS
    backends = ("torch", "openvino-int8") if HAS_OPENVINO else ("torch",)
    # the session's PyTorch encoder, as `run` would load it (the same folder, the same threads)
    result = run(model_dir, jsts=jsts, jsquad=beir, needs=needs, backends=backends, rounds=1, per_round=2,
                 passages=4, jsquad_queries=3,
                 load=lambda name: encoder if name == "torch" else Encoder(model_dir, threads=2, backend=name))
    assert {"date", "load_average_start", "load_average_end", "cpu_flags", "threads", "onnx", "backends",
            "jsquad_sample"} <= result.keys()
    assert result["jsquad_sample"] == {"queries": 3, "seed": 16}
    rows = {row["backend"]: row for row in result["backends"]}
    assert list(rows) == list(backends)
    for row in rows.values():
        assert {"model_id", "torch_threads", "query_wall_ms_p50", "query_wall_ms_p95", "query_cpu_ms_p50",
                "query_cpu_ms_p95", "passages_per_s", "jsts_spearman", "jsquad_dense_nDCG@10",
                "jsquad_hybrid_nDCG@10"} <= row.keys()
        assert row["jsquad_queries"] == 3 and row["jsts_pairs"] == 4
    if HAS_OPENVINO:
        int8 = rows["openvino-int8"]
        assert set(int8["drop"]) == {"jsts_spearman", "jsquad_dense_nDCG@10", "jsquad_dense_R@1",
                                     "jsquad_hybrid_nDCG@10"}
        assert int8["quality_ok"] == (max(int8["drop"].values()) <= 0.005)


def test_a_backend_that_cannot_run_here_is_reported_with_the_reason(model_dir, monkeypatch):
    from matcher.bench_encoders import load_encoders
    from matcher.embed import Encoder

    # a CPU on which OpenVINO finds no bf16 (this one has it): the bf16 back-ends are refused, not assumed
    monkeypatch.setattr("matcher.encoder_backends.openvino_capabilities", lambda: ["FP32", "INT8"])
    (reason,) = load_encoders(["openvino-bf16"], lambda name: Encoder(model_dir, backend=name), print).values()
    assert isinstance(reason, str) and "bf16" in reason and "ModelNotReadyError" in reason
