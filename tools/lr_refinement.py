"""Encoder-side refinement of the stored LR, measured (issue 13): after the normal encode, gradient
steps on the 8-bit LR through the differentiable decoder (straight-through rounding; each latent patch
denoised at the timestep the file stores and rendered on its own) towards the original, the LR held
within a PSNR floor of the area downscale (the thumbnail target) by projection; the refined LR is then
decoded by the real tiled decoder. The file format is untouched: only the encoder chooses other pixels.

    python -m tools.lr_refinement default-16x-r8 --val ../shared/data/val/bsd100 --limit 10
        [--steps 40] [--step-size 0.01] [--floors 36.5 25] [--out FILE]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from tadmcodec.codec import Codec
from tadmcodec.evaluation.validate import area_downscale, named_images
from tadmcodec.metrics import detail_ratio, psnr_images, psnr_y_images
from tadmcodec.models.algorithm import TADM
from tadmcodec.models.dfrm import area_guide
from tadmcodec.pipeline.geometry import lr_patch_windows
from tadmcodec.pixels import images_to_tensor, quantize_lr
from tadmcodec.raster import ArrayRaster
from tools.reports import emit


def refine(
    model: TADM, image: np.ndarray, lr: np.ndarray, timesteps: np.ndarray, floor_db: float, steps: int, step_size: float
) -> np.ndarray:
    """The LR after `steps` Adam steps on the decoder's squared error, within floor_db of the area downscale."""
    scale, config = model.scale, model.config
    x = images_to_tensor(padded_to_lr(image, lr, scale)[None])
    area = area_guide(x, scale)
    radius2 = 10 ** (-floor_db / 10) * area.numel()  # squared L2 distance at the floor, in [0, 1] units
    y = (torch.from_numpy(lr).permute(2, 0, 1)[None].float() / 255).requires_grad_(True)
    windows = lr_patch_windows((lr.shape[1], lr.shape[0]), scale, config.patch_size, config.patch_overlap)
    optimiser = torch.optim.Adam([y], lr=step_size)
    for _ in range(steps):
        z_hat = model.rescaled_latent(quantize_lr(y))
        loss = torch.zeros(())
        for window in windows:
            x0, y0, x1, y1 = window.box
            z0 = model.denoise(z_hat[..., y0:y1, x0:x1], torch.tensor([int(timesteps[window.index])]))
            loss = loss + F.mse_loss(model.render(z0), x[..., 8 * y0 : 8 * y1, 8 * x0 : 8 * x1])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        with torch.no_grad():  # project onto the ball around the area downscale, then into [0, 1]
            offset = y - area
            distance2 = float((offset**2).sum())
            if distance2 > radius2:
                y.copy_(area + offset * (radius2 / distance2) ** 0.5)
            y.clamp_(0, 1)
    return torch.round(y.detach() * 255).to(torch.uint8)[0].permute(1, 2, 0).numpy()


def padded_to_lr(image: np.ndarray, lr: np.ndarray, scale: int) -> np.ndarray:
    """The image edge-padded to `scale` times the LR's size, as the encoder pads it."""
    height, width = lr.shape[0] * scale, lr.shape[1] * scale
    return np.pad(image, ((0, height - image.shape[0]), (0, width - image.shape[1]), (0, 0)), mode="edge")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--val", nargs="+", required=True)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--step-size", type=float, default=0.01, help="Adam's step in LR units ([0, 1])")
    parser.add_argument("--floors", type=float, nargs="+", default=[36.5, 25.0], help="LR PSNR floors (dB)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    codec = Codec.load(args.model, allow_path=True)
    model = codec.model.requires_grad_(False)
    rows: dict[str, list[dict[str, float]]] = {"encoded": []} | {f"floor {f}": [] for f in args.floors}
    seconds = {f"floor {f}": 0.0 for f in args.floors}
    for _, image in named_images(args.val, args.limit):
        lr, grid = codec.encode(image)
        steps = grid.timesteps.reshape(-1).astype(np.int64)
        candidates = {"encoded": lr}
        for floor in args.floors:
            start = time.perf_counter()
            candidates[f"floor {floor}"] = refine(model, image, lr, steps, floor, args.steps, args.step_size)
            seconds[f"floor {floor}"] += time.perf_counter() - start
        for name, candidate in candidates.items():
            decoded = codec.decode(ArrayRaster(candidate), grid, (image.shape[1], image.shape[0]))
            rows[name].append(
                {
                    "psnr_y": psnr_y_images(image, decoded),
                    "detail_ratio": detail_ratio(image, decoded),
                    "lr_psnr": psnr_images(area_downscale(image, model.scale), candidate),
                }
            )
    count = len(rows["encoded"])
    report = {
        "model": args.model,
        "images": count,
        "steps": args.steps,
        "step_size": args.step_size,
        "lrs": {
            name: {k: round(float(np.mean([r[k] for r in v])), 4) for k in v[0]}
            | ({"seconds_per_image": round(seconds[name] / count, 2)} if name in seconds else {})
            for name, v in rows.items()
        },
    }
    emit(report, args.out)


if __name__ == "__main__":
    main()
