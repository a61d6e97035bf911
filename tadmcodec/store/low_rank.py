"""Low-rank weight updates (LoRA's W + B A) applied with NumPy, for the loaders that read weights without
torch and for adapter files.

An adapter file holds, for a weight K, the pair K.lora_A.weight (down: rank x inputs, a convolution's
(rank, in, kh, kw)) and K.lora_B.weight (up: outputs x rank, a convolution's (out, rank, 1, 1)), which add
B A to K, and it may hold other tensors whole, which replace the base's tensor of that name (a texture
prior's adapter keeps its biases and PReLU slopes so: they are a few thousand numbers).
"""

from __future__ import annotations

import numpy as np

DOWN, UP = ".lora_A.weight", ".lora_B.weight"


def low_rank_product(down: np.ndarray, up: np.ndarray) -> np.ndarray:
    """B A in float32, shaped as the weight it updates (as tadmcodec.models.lora.merge_lora computes it)."""
    down, up = down.astype(np.float32), up.astype(np.float32)
    if down.ndim == 2:
        return up @ down
    return np.einsum("or,rikl->oikl", up[:, :, 0, 0], down)


def apply_adapter(weights: dict[str, np.ndarray], adapter: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """weights with the adapter's low-rank updates added and its whole tensors put in place, in float32.
    Every name must be one the weights hold and every factor have its pair (KeyError otherwise: an adapter
    for another network, or a damaged one)."""
    merged = {key: value.astype(np.float32) for key, value in weights.items()}
    for key, value in adapter.items():
        if key.endswith(UP):
            if key[: -len(UP)] + DOWN not in adapter:
                raise KeyError(key)
            continue
        if key.endswith(DOWN):
            base = key[: -len(DOWN)] + ".weight"
            merged[base] = merged[base] + low_rank_product(value, adapter[key[: -len(DOWN)] + UP])
        elif key in merged:
            merged[key] = value.astype(np.float32)
        else:
            raise KeyError(key)
    return merged
