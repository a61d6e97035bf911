"""The fidelity/realism dial measured (issue 13, target 5): PSNR-Y, SSIMULACRA2 and detail ratio of the
decode at several timestep scales (`tadmcodec decode --timestep-scale F`, `tadmcodec.open(...,
timestep_scale=F)`), each image encoded once.

    python -m tools.dial_curve default-16x --val ../shared/data/val/bsd100 [--scales 0.5 1 2 4] [--limit N] [--out FILE]
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
    parser.add_argument("--scales", type=float, nargs="+", default=[0.5, 1.0, 2.0, 4.0])
    parser.add_argument("--limit", type=int)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    codec = Codec.load(args.model, allow_path=True)
    rows: dict[float, list[dict[str, float]]] = {scale: [] for scale in args.scales}
    for _, image in tqdm(named_images(args.val, args.limit), desc="dial"):
        lr, grid = codec.encode(image)
        for scale in args.scales:
            decoded = codec.decode(ArrayRaster(lr), dial_timesteps(grid, scale), (image.shape[1], image.shape[0]))
            rows[scale].append({"psnr_y": psnr_y_images(image, decoded),
                                "ssimulacra2": ssimulacra2_score(image, decoded),
                                "detail_ratio": detail_ratio(image, decoded),
                                "mean_timestep": float(dial_timesteps(grid, scale).timesteps.mean())})  # fmt: skip
    curve = [{"timestep_scale": scale} | {k: round(float(np.nanmean([r[k] for r in rows[scale]])), 4)
                                          for k in rows[scale][0]} for scale in args.scales]  # fmt: skip
    emit({"model": args.model, "images": len(rows[args.scales[0]]), "curve": curve}, args.out)


if __name__ == "__main__":
    main()
