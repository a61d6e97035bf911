"""Per image, a model against the standard pipeline at the same bytes, bicubic and the previous release:
issue 29's comparison on every image of a set, with per-image wins.

    python -m tools.prior.compare ../shared/data/val/bsd100 --model default-16x-r11 --previous default-16x-r10 \\
        --out docs/results/r11/compare-16.json

Each image is encoded with both models (no metadata: array input, as `tadmcodec eval` does) and decoded on
the auto runtime; avif-rescaled (tadmcodec.evaluation.standard_codecs.rescaled_avif) fits the new
model's file. Measures: ST-LPIPS Alex (the judge) for every method, ST-LPIPS VGG (the training loss)
for the model and avif-rescaled, PSNR-Y, detail ratio, 8-pixel grid excess, 2-pixel checkerboard and
4-pixel pattern, and SSIMULACRA2 for every method (reported as its median and the share of images on
which the model scores higher: on this range its scale is flat, so its mean says little). Writes
per-image rows and the means, and the share of images on which the model's ST-LPIPS Alex is below each
other method's.
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

import tadmcodec
from tadmcodec.evaluation.baselines import rescale_baseline
from tadmcodec.evaluation.standard_codecs import rescaled_avif
from tadmcodec.quality.metrics import (
    checkerboard,
    detail_ratio,
    grid_excess,
    overshoot,
    period_pattern,
    psnr_y_images,
    ssimulacra2_score,
    st_lpips,
)
from tadmcodec.store.registry import model_scale, resolve_model


def measures(original: np.ndarray, image: np.ndarray, vgg: bool, ssimulacra2: bool = False) -> dict[str, float]:
    row = {
        "alex": st_lpips(original, image, "alex"),
        "psnr_y": psnr_y_images(original, image),
        "detail": detail_ratio(original, image),
        "overshoot": overshoot(original, image),
        "grid": max(grid_excess(image)),
        "checker": checkerboard(image),
        "pattern": period_pattern(image),
    }
    row |= {"vgg": st_lpips(original, image, "vgg")} if vgg else {}
    return row | ({"ssimulacra2": ssimulacra2_score(original, image)} if ssimulacra2 else {})


def coded(original: np.ndarray, model: str, scale: int) -> tuple[bytes, np.ndarray]:
    buffer = io.BytesIO()
    tadmcodec.encode(original, buffer, model=model, scale=scale)
    return buffer.getvalue(), tadmcodec.decode(buffer.getvalue(), as_array=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("val", type=Path)
    parser.add_argument("--model", required=True)
    parser.add_argument("--previous", required=True)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    scale = model_scale(resolve_model(args.model))
    rows = []
    for path in tqdm(sorted(args.val.iterdir())[: args.limit], desc="compare"):
        with Image.open(path) as opened:
            original = np.asarray(opened.convert("RGB"))
        data, decoded = coded(original, args.model, scale)
        _, previous = coded(original, args.previous, scale)
        pipeline = rescaled_avif(original, len(data), lambda out: psnr_y_images(original, out))  # noqa: B023
        bicubic = rescale_baseline(original, scale, Image.Resampling.BICUBIC)
        row = {
            "image": path.name,
            "bytes": len(data),
            "avif_factor": pipeline.factor,
            "model": measures(original, decoded, vgg=True, ssimulacra2=True),
            "previous": measures(original, previous, vgg=False, ssimulacra2=True),
            "bicubic": measures(original, bicubic, vgg=False, ssimulacra2=True),
            "avif-rescaled": measures(original, pipeline.decoded, vgg=True, ssimulacra2=True),
        }
        rows.append(row)
    methods = ("model", "previous", "bicubic", "avif-rescaled")
    means = {m: {k: round(float(np.mean([r[m][k] for r in rows])), 4) for k in rows[0][m]} for m in methods}
    wins = {m: round(float(np.mean([r["model"]["alex"] < r[m]["alex"] for r in rows])), 3) for m in methods[1:]}
    medians = {m: round(float(np.median([r[m]["ssimulacra2"] for r in rows])), 2) for m in methods}
    s2_wins = {
        m: round(float(np.mean([r["model"]["ssimulacra2"] > r[m]["ssimulacra2"] for r in rows])), 3)
        for m in methods[1:]
    }
    result = {
        "model": args.model,
        "previous": args.previous,
        "scale": scale,
        "images": len(rows),
        "means": means,
        "alex_wins_of_model": wins,
        "ssimulacra2_medians": medians,
        "ssimulacra2_wins_of_model": s2_wins,
        "per_image": rows,
    }
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "per_image"}, indent=1))


if __name__ == "__main__":
    main()
