"""A fine-tuned texture prior as an adapter on an earlier one: each convolution's change of weights cut to
its best rank-R approximation (singular value decomposition), stored as LoRA's factors, the biases and
PReLU slopes whole. A full prior costs 2.5 MB (float16); an adapter of rank 16 about 0.7 MB, and the
release's prior weights then link to the earlier release's file (tadmcodec.store.low_rank says how
loaders apply it).

    python -m tools.prior.low_rank BASE_PRIOR TUNED_PRIOR OUTPUT --rank 16

BASE_PRIOR: the prior folder of a released model (tadmcodec/weights/NAME/texture_prior); TUNED_PRIOR: a
fine-tuning run's prior, started from it. OUTPUT is a prior folder for tools.derive_model --texture-prior.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

from tadmcodec.models.texture_prior import TexturePrior
from tadmcodec.nn.configured import CONFIG_NAME, WEIGHTS_NAME
from tadmcodec.store.folder import PRIOR_ADAPTER
from tadmcodec.store.hashing import copy_weight_file, linked_file
from tadmcodec.store.low_rank import DOWN, UP, low_rank_product


def factorise(delta: np.ndarray, rank: int) -> tuple[np.ndarray, np.ndarray]:
    """(down, up) with up @ down the best rank-`rank` approximation of a (out, in, kh, kw) change."""
    matrix = delta.reshape(delta.shape[0], -1).astype(np.float64)
    u, s, vt = np.linalg.svd(matrix, full_matrices=False)
    root = np.sqrt(s[:rank])
    down = (root[:, None] * vt[:rank]).reshape(-1, *delta.shape[1:])
    up = (u[:, :rank] * root)[:, :, None, None]
    return down.astype(np.float16), up.astype(np.float16)


def adapter(base: dict[str, np.ndarray], tuned: dict[str, np.ndarray], rank: int) -> tuple[dict, float]:
    """The adapter's tensors, and the share of the change's energy (sum of squares) it keeps."""
    tensors, kept, total = {}, 0.0, 0.0
    for key, value in tuned.items():
        delta = value.astype(np.float64) - base[key].astype(np.float64)
        total += float((delta**2).sum())
        if delta.ndim == 4 and key.endswith(".weight"):
            down, up = factorise(delta, rank)
            stem = key[: -len(".weight")]
            tensors[stem + DOWN], tensors[stem + UP] = down, up
            approximation = low_rank_product(down, up)
            kept += float((delta**2).sum() - ((delta - approximation) ** 2).sum())
        else:
            tensors[key] = value.astype(np.float32)
            kept += float((delta**2).sum())
    return tensors, kept / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path)
    parser.add_argument("tuned", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--rank", type=int, default=16)
    args = parser.parse_args()
    base = load_file(linked_file(args.base / WEIGHTS_NAME))
    tensors, kept = adapter(base, load_file(linked_file(args.tuned / WEIGHTS_NAME)), args.rank)
    args.output.mkdir(parents=True)
    shutil.copy2(args.tuned / CONFIG_NAME, args.output / CONFIG_NAME)
    copy_weight_file(args.base / WEIGHTS_NAME, args.output / WEIGHTS_NAME)
    save_file(tensors, args.output / PRIOR_ADAPTER)
    TexturePrior.from_pretrained(args.output)  # it loads
    size = (args.output / PRIOR_ADAPTER).stat().st_size
    print(f"{args.output}: rank {args.rank}, {size / 1e6:.2f} MB, {kept:.1%} of the change's energy kept")


if __name__ == "__main__":
    main()
