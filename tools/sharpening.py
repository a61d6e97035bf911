"""An unsharp mask on decoded images, measured (issue 13): does a fixed post-filter, out = decoded +
amount * (decoded - gaussian_blur(decoded, sigma)), buy SSIMULACRA2 or detail ratio for the PSNR-Y it
costs? Each image encoded and decoded once; every (sigma, amount) applied to that decode.

    python -m tools.sharpening default-16x-r8 --val ../shared/data/val/bsd100 --limit 25
        [--sigmas 1 2] [--amounts 0 0.5 1 2] [--out FILE]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter

from tadmcodec.codec import Codec
from tadmcodec.evaluation.validate import named_images
from tadmcodec.metrics import detail_ratio, psnr_y_images, ssimulacra2_score
from tadmcodec.raster import ArrayRaster
from tools.reports import emit


def unsharp(image: np.ndarray, sigma: float, amount: float) -> np.ndarray:
    """(H, W, 3) uint8 sharpened per channel, rounded and clipped back to uint8."""
    pixels = image.astype(np.float64)
    sharpened = pixels + amount * (pixels - gaussian_filter(pixels, (sigma, sigma, 0)))
    return np.clip(np.round(sharpened), 0, 255).astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--val", nargs="+", required=True)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--sigmas", type=float, nargs="+", default=[1.0, 2.0])
    parser.add_argument("--amounts", type=float, nargs="+", default=[0.0, 0.5, 1.0, 2.0])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    codec = Codec.load(args.model, allow_path=True)
    settings = [(sigma, amount) for sigma in args.sigmas for amount in args.amounts]
    rows: dict[tuple[float, float], list[dict[str, float]]] = {setting: [] for setting in settings}
    for _, image in named_images(args.val, args.limit):
        lr, grid = codec.encode(image)
        decoded = codec.decode(ArrayRaster(lr), grid, (image.shape[1], image.shape[0]))
        for sigma, amount in settings:
            sharpened = unsharp(decoded, sigma, amount)
            rows[sigma, amount].append(
                {
                    "psnr_y": psnr_y_images(image, sharpened),
                    "ssimulacra2": ssimulacra2_score(image, sharpened),
                    "detail_ratio": detail_ratio(image, sharpened),
                }
            )
    curve = [
        {"sigma": sigma, "amount": amount} | {k: round(float(np.mean([r[k] for r in v])), 4) for k in v[0]}
        for (sigma, amount), v in rows.items()
    ]
    emit({"model": args.model, "images": len(rows[settings[0]]), "curve": curve}, args.out)


if __name__ == "__main__":
    main()
