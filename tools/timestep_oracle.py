"""Which timestep would each patch want? (issue 13, target 3: timesteps that mean something)

For every image: encode with the model, decode once with the stored (TPM) timesteps and once with each
candidate timestep for every patch, and pick per patch the candidate whose decode is closest to the
original over the patch's pixels (an encoder-side choice: the encoder has the original; a file stores
whatever timesteps its encoder chose). Reports, mean per image, Spearman(timestep, the original's
per-patch high-frequency energy) for the stored and the chosen timesteps, and PSNR-Y of the decode
with the stored timesteps, with each constant candidate and with the chosen grid, and the detail ratio
of each constant candidate (does a larger timestep add detail?).

    python -m tools.timestep_oracle --val ../shared/data/val/bsd100 --model default-16x \\
        [--candidates 10 25 50 100 200 400] [--count N] [--out FILE]
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

from tadmcodec.codec import Codec
from tadmcodec.evaluation.validate import named_images, patch_energy
from tadmcodec.metrics import detail_ratio, luma_601, psnr_y_images, spearman
from tadmcodec.pipeline.geometry import lr_patch_windows
from tadmcodec.raster import ArrayRaster
from tadmcodec_formats import LATENT_FACTOR
from tools.reports import emit


def patch_errors(original: np.ndarray, decoded: np.ndarray, windows: list) -> np.ndarray:
    """Mean squared luma error over each patch window's pixels, row-major."""
    error = (luma_601(original) - luma_601(decoded)) ** 2
    boxes = [tuple(v * LATENT_FACTOR for v in w.box) for w in windows]
    return np.array([error[y0:y1, x0:x1].mean() for x0, y0, x1, y1 in boxes])


def study(codec: Codec, image: np.ndarray, candidates: list[int]) -> dict[str, object]:
    lr, grid = codec.encode(image)
    size = (image.shape[1], image.shape[0])
    config = codec.model.config
    windows = lr_patch_windows((lr.shape[1], lr.shape[0]), codec.scale, config.patch_size, config.patch_overlap)

    def decode(timesteps: np.ndarray) -> np.ndarray:
        steps = timesteps.reshape(grid.timesteps.shape).astype(grid.timesteps.dtype)
        return codec.decode(ArrayRaster(lr), dataclasses.replace(grid, timesteps=steps), size)

    energy = patch_energy(image, lr.shape[:2], config.patch_size, config.patch_overlap, codec.scale)
    stored = grid.timesteps.reshape(-1)
    decodes = {t: decode(np.full_like(stored, t)) for t in candidates}
    errors = np.stack([patch_errors(image, decodes[t], windows) for t in candidates])
    chosen = np.array(candidates)[errors.argmin(0)]
    record: dict[str, object] = {
        "patches": int(stored.size),
        "spearman_stored": spearman(stored.astype(float), energy),
        "spearman_chosen": spearman(chosen.astype(float), energy),
        "psnr_y_stored": psnr_y_images(image, decode(stored)),
        "psnr_y_chosen": psnr_y_images(image, decode(chosen)),
        "chosen": chosen.tolist(),
    }
    for t in candidates:
        record[f"psnr_y_t{t}"] = psnr_y_images(image, decodes[t])
        record[f"detail_ratio_t{t}"] = detail_ratio(image, decodes[t])
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--val", nargs="+", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--candidates", type=int, nargs="+", default=[10, 25, 50, 100, 200, 400])
    parser.add_argument("--count", type=int, default=0, help="the first N images (0: all)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    codec = Codec.load(args.model, allow_path=True)
    records = {}
    for index, (name, image) in enumerate(named_images(args.val)):
        if args.count and index >= args.count:
            break
        records[name] = study(codec, image, args.candidates)
    keys = [k for k in next(iter(records.values())) if k not in ("patches", "chosen")]
    mean = {k: round(float(np.nanmean([r[k] for r in records.values()])), 4) for k in keys}
    chosen = np.concatenate([r["chosen"] for r in records.values()])
    histogram = {str(t): int((chosen == t).sum()) for t in args.candidates}
    report = {"model": args.model, "images": len(records), "mean_per_image": mean, "chosen_histogram": histogram}
    emit(report | {"per_image": records}, args.out)


if __name__ == "__main__":
    main()
