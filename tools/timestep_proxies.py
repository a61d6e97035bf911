"""How far can per-patch timesteps follow texture when they are chosen from the LR (issue 13, target 3)?

Spearman(timestep, per-patch high-frequency energy of the original), mean per image, as
tadmcodec.evaluation.validate measures it, for the stored timesteps of the given models and for a
predictor that sees only the LR: the same energy measured on the LR upscaled bicubically (the
information a decoder-side timestep predictor starts from). Encoding only, no decode.

    python -m tools.timestep_proxies --val ../shared/data/val/bsd100 --scale 16 [--models M ...] [--out FILE]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from tadmcodec.codec import Codec
from tadmcodec.evaluation.validate import area_downscale, named_images, patch_energy
from tadmcodec.metrics import spearman
from tools.reports import emit

PATCH, OVERLAP = 32, 8  # the shipped models' patch grid (latent pixels)


def mean_per_image(values: list[float]) -> float:
    finite = [v for v in values if not np.isnan(v)]
    return round(float(np.mean(finite)), 4) if finite else float("nan")


def lr_upscaled_energy(image: np.ndarray, lr: np.ndarray, scale: int) -> np.ndarray:
    """Per-patch energy of the image's LR upscaled back bicubically (an LR-only predictor)."""
    height, width = image.shape[:2]
    size = (lr.shape[1] * scale, lr.shape[0] * scale)
    upscaled = np.asarray(Image.fromarray(lr).resize(size, Image.Resampling.BICUBIC))[:height, :width]
    return patch_energy(np.ascontiguousarray(upscaled), lr.shape[:2], PATCH, OVERLAP, scale)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--val", nargs="+", required=True)
    parser.add_argument("--scale", type=int, required=True)
    parser.add_argument("--models", nargs="*", default=[], help="model names or folders whose timesteps to score")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    codecs = {name: Codec.load(name, allow_path=True) for name in args.models}
    for name, codec in codecs.items():
        if codec.scale != args.scale or (codec.model.config.patch_size, codec.model.config.patch_overlap) != (
            PATCH,
            OVERLAP,
        ):
            raise SystemExit(f"{name} is not a {args.scale}x model with {PATCH}/{OVERLAP} patches")
    scores: dict[str, list[float]] = {"lr_upscaled_energy": [], **{name: [] for name in codecs}}
    for _, image in named_images(args.val):
        lr = area_downscale(image, args.scale)
        energy = patch_energy(image, lr.shape[:2], PATCH, OVERLAP, args.scale)
        if energy.size <= 2:
            continue
        scores["lr_upscaled_energy"].append(spearman(lr_upscaled_energy(image, lr, args.scale), energy))
        for name, codec in codecs.items():
            scores[name].append(spearman(codec.encode(image)[1].timesteps.reshape(-1).astype(float), energy))
    report = {
        "scale": args.scale,
        "images": len(scores["lr_upscaled_energy"]),
        "spearman_mean_per_image": {name: mean_per_image(values) for name, values in scores.items()},
    }
    emit(report, args.out)


if __name__ == "__main__":
    main()
