"""Validate a model for its model card: full-image metrics against bicubic and Lanczos rescaling at
the same LR size, the realism measures (detail ratio, 8-pixel grid excess: tadmcodec.quality.metrics), how
close the stored LR is to a plain area downscale (the thumbnail's fidelity), and the timestep
adaptivity (Spearman correlation of per-patch timestep and the original's per-patch high-frequency
energy). Images come from folders or packs (tools/gpu/pack.py).

    python -m tadmcodec.evaluation.validate default-16x --val ../shared/data/val/bsd100 \
        --out tadmcodec/weights/default-16x/validation.json \
        --timestep-map tadmcodec/weights/default-16x/timestep-map.png
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter
from tqdm import tqdm

from tadmcodec_formats import LATENT_FACTOR

from ..io.raster import ArrayRaster
from ..pipeline.geometry import lr_patch_windows
from ..pipeline.timestep_map import render_timestep_map
from ..quality.metrics import checkerboard, detail_ratio, grid_excess, psnr_images, quality, spearman
from ..runtime.codec import Codec
from ..training.data import list_images, read_pack
from .baselines import rescale_baseline

BASELINES = {"bicubic": Image.Resampling.BICUBIC, "lanczos": Image.Resampling.LANCZOS}


def patch_energy(image: np.ndarray, lr_shape: tuple[int, int], patch: int, overlap: int, scale: int) -> np.ndarray:
    """Mean squared high-pass (image minus Gaussian blur, luma) over each patch's pixels, row-major."""
    gray = Image.fromarray(image).convert("L")
    high = np.asarray(gray, float) - np.asarray(gray.filter(ImageFilter.GaussianBlur(2)), float)
    energies = []
    for window in lr_patch_windows((lr_shape[1], lr_shape[0]), scale, patch, overlap):
        x0, y0, x1, y1 = (v * LATENT_FACTOR for v in window.box)
        part = high[y0:y1, x0:x1]
        energies.append(float((part**2).mean()) if part.size else 0.0)
    return np.array(energies)


def area_downscale(image: np.ndarray, scale: int) -> np.ndarray:
    """The mean of every scale x scale block of the image, edge-replicated to a multiple of the scale
    as the encoder pads it, rounded to 8 bits."""
    height, width = image.shape[:2]
    padded = np.pad(image, ((0, -height % scale), (0, -width % scale), (0, 0)), mode="edge").astype(np.float64)
    blocks = padded.reshape(padded.shape[0] // scale, scale, padded.shape[1] // scale, scale, 3)
    return np.round(blocks.mean(axis=(1, 3))).astype(np.uint8)


def realism(original: np.ndarray, decoded: np.ndarray) -> dict[str, float]:
    horizontal, vertical = grid_excess(decoded)
    return {
        "detail_ratio": detail_ratio(original, decoded),
        "grid_h": horizontal,
        "grid_v": vertical,
        "checkerboard": checkerboard(decoded),
    }


def validate(codec: Codec, images: list[tuple[str, np.ndarray]], ssimulacra2_limit: int, map_path: Path | None) -> dict:
    rows, steps, energies, per_image = [], [], [], []
    seconds = {"encode": 0.0, "decode": 0.0, "megapixels": 0.0}
    for index, (name, image) in enumerate(tqdm(images, desc="validate")):
        start = time.perf_counter()
        lr, grid = codec.encode(image)
        seconds["encode"] += time.perf_counter() - start
        start = time.perf_counter()
        decoded = codec.decoder.decode(ArrayRaster(lr), grid, (image.shape[1], image.shape[0]))
        seconds["decode"] += time.perf_counter() - start
        seconds["megapixels"] += image.shape[0] * image.shape[1] / 1e6
        with_s2 = index < ssimulacra2_limit
        row = {"image": name, "tadm": quality(image, decoded, with_s2) | realism(image, decoded)}
        row["tadm"]["lr_psnr_vs_area"] = psnr_images(area_downscale(image, codec.scale), lr)
        for baseline, method in BASELINES.items():
            rescaled = rescale_baseline(image, codec.scale, method)
            row[baseline] = quality(image, rescaled, with_s2) | realism(image, rescaled)
        rows.append(row)
        energy = patch_energy(image, lr.shape[:2], grid.patch_size, grid.overlap, codec.scale)
        t = grid.timesteps.reshape(-1).astype(float)
        steps.append(t)
        energies.append(energy)
        if len(t) > 2:
            per_image.append(spearman(t, energy))
        if map_path is not None and index == 0:
            render_timestep_map(
                image, grid.timesteps, grid.patch_size, grid.overlap, (image.shape[1], image.shape[0]), codec.scale
            ).save(map_path)
    summary = {}
    for method in ("tadm", *BASELINES):
        keys = rows[0][method].keys() | rows[min(ssimulacra2_limit, len(rows)) - 1][method].keys()
        summary[method] = {k: round(float(np.nanmean([r[method][k] for r in rows if k in r[method]])), 4) for k in keys}
    all_steps, all_energy = np.concatenate(steps), np.concatenate(energies)
    valid = [v for v in per_image if not np.isnan(v)]
    return {
        "images": len(rows),
        "ssimulacra2_images": min(ssimulacra2_limit, len(rows)),
        "mean": summary,
        "gain_over_bicubic": {
            k: round(v - summary["bicubic"][k], 4) for k, v in summary["tadm"].items() if k in summary["bicubic"]
        },
        "timesteps": {
            "min": float(all_steps.min()),
            "max": float(all_steps.max()),
            "mean": float(all_steps.mean()),
            "spearman_t_vs_hf_energy_pooled": round(spearman(all_steps, all_energy), 4),
            "spearman_t_vs_hf_energy_mean_per_image": round(float(np.mean(valid)), 4) if valid else None,
        },
        "seconds_per_megapixel": {k: round(seconds[k] / seconds["megapixels"], 3) for k in ("encode", "decode")},
        "per_image": rows,
    }


def named_images(sources: list[str], limit: int | None = None) -> list[tuple[str, np.ndarray]]:
    """(name, RGB pixels) of the images in folders (by file name) and packs (by pack and index)."""
    named = []
    for source in sources:
        if source.endswith(".npz"):
            named += [(f"{Path(source).name}#{i}", image) for i, image in enumerate(read_pack(source))]
        else:
            for path in list_images([source]):
                with Image.open(path) as opened:
                    named.append((path.name, np.asarray(opened.convert("RGB"))))
    return named[:limit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--val", nargs="+", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--ssimulacra2-limit", type=int, default=10**9, help="SSIMULACRA2 on the first N images only")
    parser.add_argument("--timestep-map", type=Path)
    parser.add_argument("--device")
    args = parser.parse_args()
    codec = Codec.load(args.model, args.device, allow_path=True)
    result = validate(codec, named_images(args.val, args.limit), args.ssimulacra2_limit, args.timestep_map)
    args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps({k: v for k, v in result.items() if k != "per_image"}, indent=1))


if __name__ == "__main__":
    main()
