"""The fidelity/realism dials measured (issue 13, target 5): PSNR-Y, SSIMULACRA2 and detail ratio of the
decode at several timestep scales (`tadmcodec decode --timestep-scale F`, `tadmcodec.open(...,
timestep_scale=F)`) or, with --details, at several detail strengths of a detail-synthesising model
(`--detail D`, `detail=D`); each image encoded once.

    python -m tools.dial_curve default-16x --val ../shared/data/val/bsd100 [--scales 0.5 1 2 4 | --details 0 0.5 1]
        [--limit N] [--out FILE]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from tqdm import tqdm

from tadmcodec.codec import Codec
from tadmcodec.evaluation.validate import named_images
from tadmcodec.metrics import detail_ratio, psnr_y_images, ssimulacra2_score
from tadmcodec.raster import ArrayRaster
from tadmcodec.tadm_file import dial_timesteps
from tools.reports import emit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--val", nargs="+", required=True)
    dials = parser.add_mutually_exclusive_group()
    dials.add_argument("--scales", type=float, nargs="+", default=[0.5, 1.0, 2.0, 4.0])
    dials.add_argument("--details", type=float, nargs="+", help="detail strengths (at timestep scale 1)")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    codec = Codec.load(args.model, allow_path=True)
    dial, settings = ("detail", args.details) if args.details else ("timestep_scale", args.scales)
    rows: dict[float, list[dict[str, float]]] = {value: [] for value in settings}
    for _, image in tqdm(named_images(args.val, args.limit), desc="dial"):
        lr, grid = codec.encode(image)
        for value in settings:
            dialed = dial_timesteps(grid, value if dial == "timestep_scale" else 1.0)
            detail = value if dial == "detail" else None
            decoded = codec.decode(
                ArrayRaster(lr), dialed, (image.shape[1], image.shape[0]), detail=detail, texture=grid.timesteps
            )
            rows[value].append(
                {
                    "psnr_y": psnr_y_images(image, decoded),
                    "ssimulacra2": ssimulacra2_score(image, decoded),
                    "detail_ratio": detail_ratio(image, decoded),
                    "mean_timestep": float(dialed.timesteps.mean()),
                }
            )
    curve = [
        {dial: value} | {k: round(float(np.nanmean([r[k] for r in rows[value]])), 4) for k in rows[value][0]}
        for value in settings
    ]
    emit({"model": args.model, "images": len(rows[settings[0]]), "curve": curve}, args.out)


if __name__ == "__main__":
    main()
