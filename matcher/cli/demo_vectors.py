"""`matcher demo-vectors`: compute the demo corpus's passage vectors and its needs' query vectors, and write the
two files shipped in corpora/vectors/."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..corpus import CORPUS_DIR, load_corpus
from ..embed import DEFAULT_MODEL_DIR
from .common import CorpusDir, ModelDir, Threads, console, load_encoder, user_errors


def demo_vectors(
    corpus_dir: CorpusDir = CORPUS_DIR, model_dir: ModelDir = DEFAULT_MODEL_DIR, threads: Threads = 0,
    out: Annotated[Path | None, typer.Option(
        help="出力先のフォルダ（既定: <コーパス>/vectors/。<モデル名>.npz と <モデル名>_query.npz を書く）")] = None,
) -> None:
    """デモコーパスの全シーズ・ニーズの文書ベクトルと、全ニーズのクエリベクトルを計算し、同梱ファイル（corpora/vectors/）に書く。"""
    from ..demo_vectors import build, build_queries, vectors_path, write

    with user_errors():
        corpus = load_corpus(corpus_dir)
        encoder = load_encoder(model_dir, threads)
        directory = out or corpus_dir / "vectors"
        for demo in (build(corpus, encoder), build_queries(corpus, encoder)):
            path = write(demo, vectors_path(demo.model_id, directory))
            console.print(f"{len(demo.fingerprints)} 件のベクトル（{demo.model_id}, float32）: {path}"
                          f"（{path.stat().st_size / 1e6:.2f} MB）")
