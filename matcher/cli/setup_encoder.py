"""`matcher setup-encoder`: export the encoder's model for a back-end once, offline, so that the first start of a
server with MATCHER_ENCODER_BACKEND set does not wait for it (`make setup` runs it)."""

from __future__ import annotations

from typing import Annotated

import typer

from ..embed import DEFAULT_MODEL_DIR
from .common import ModelDir, console, user_errors

Backend = Annotated[str, typer.Option(envvar="MATCHER_ENCODER_BACKEND",
                                      help="埋め込みの実行方式（torch, openvino, openvino-int8 など）")]


def setup_encoder(backend: Backend = "openvino-int8", model_dir: ModelDir = DEFAULT_MODEL_DIR) -> None:
    """埋め込みモデルを実行方式（OpenVINO・int8）に合わせて書き出す（初回のみ・オフライン）。"""
    from ..encoder_backends import backend_of, prepare

    with user_errors():
        export = backend_of(backend).export
        if export is None:
            console.print(f"実行方式「{backend}」は書き出し不要です: {model_dir}")
            return
        console.print(f"実行方式「{backend}」のモデルを用意しました: {prepare(model_dir, export)}")
