"""A quick look at texture-prior checkpoints: the prior applied to the default model's decodes of the
first N validation images (cached), with ST-LPIPS Alex and VGG, PSNR-Y, detail ratio and checkerboard
against the decode without it. A development loop only; releases are measured with `tadmcodec eval`.

    python -m tools.prior.probe PRIOR_FOLDER [PRIOR_FOLDER ...] --val ../shared/data/val/bsd100 --limit 10
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import tadmcodec
from tadmcodec.metrics import checkerboard, detail_ratio, period_pattern, psnr_y_images, st_lpips
from tadmcodec.model_files import read_config
from tadmcodec.models.texture_prior import TexturePrior
from tadmcodec.pipeline.networks import to_uint8_images
from tadmcodec.pipeline.texture_stage import texture_map
from tadmcodec.pixels import images_to_tensor
from tadmcodec.registry import default_models, resolve_model
from tadmcodec_formats import TadmReader


def decodes(val: Path, limit: int, scale: int, cache: Path) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(original, default decode, texture positions) of the first `limit` images, decodes and stored
    timesteps cached."""
    config = read_config(resolve_model(default_models()[scale]))
    triples = []
    for path in sorted(val.iterdir())[:limit]:
        original = np.asarray(Image.open(path).convert("RGB"))
        cached = cache / f"{path.stem}-{scale}x.png"
        if not cached.exists():
            buffer = io.BytesIO()
            tadmcodec.encode(original, buffer, scale=scale, strip_metadata=True)
            cache.mkdir(parents=True, exist_ok=True)
            np.save(cached.with_suffix(".npy"), TadmReader(buffer.getvalue()).read_patches().timesteps)
            tadmcodec.decode(buffer.getvalue()).save(cached)
        texture = texture_map(np.load(cached.with_suffix(".npy")), original.shape[:2], config)
        triples.append((original, np.asarray(Image.open(cached).convert("RGB")), texture))
    return triples


@torch.no_grad()
def refined(prior: TexturePrior, decoded: np.ndarray, texture: np.ndarray) -> np.ndarray:
    """The prior on a whole decode, edge-padded to its latent grid as decoding renders it."""
    height, width = decoded.shape[:2]
    padded = np.pad(
        decoded, ((0, texture.shape[0] * 8 - height), (0, texture.shape[1] * 8 - width), (0, 0)), mode="edge"
    )
    out = prior(images_to_tensor(padded[None]), torch.from_numpy(texture[None, None].astype(np.float32)))
    return to_uint8_images(out.numpy())[0, :height, :width]


def measures(original: np.ndarray, image: np.ndarray) -> dict[str, float]:
    return {"alex": st_lpips(original, image, "alex"), "vgg": st_lpips(original, image, "vgg"),
            "psnr_y": psnr_y_images(original, image), "detail": detail_ratio(original, image),
            "checker": checkerboard(image), "pattern": period_pattern(image)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("priors", nargs="+", type=Path)
    parser.add_argument("--val", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--scale", type=int, default=16)
    parser.add_argument("--cache", type=Path, default=Path("runs/probe-cache"))
    parser.add_argument("--sheet", type=Path, help="save the first image's crops side by side here")
    args = parser.parse_args()
    pairs = decodes(args.val, args.limit, args.scale, args.cache)
    rows = {"decode": [measures(o, d) for o, d, _ in pairs]}
    sheet = [pairs[0][0][:160, :240], pairs[0][1][:160, :240]]
    for folder in args.priors:
        prior = TexturePrior.from_pretrained(folder)
        outputs = [refined(prior, d, t) for _, d, t in pairs]
        rows[str(folder)] = [measures(o, r) for (o, _, _), r in zip(pairs, outputs, strict=True)]
        sheet.append(outputs[0][:160, :240])
    for name, values in rows.items():
        print(json.dumps({"model": name} | {k: round(float(np.mean([v[k] for v in values])), 4) for k in values[0]}))
    if args.sheet:
        Image.fromarray(np.concatenate(sheet, 1)).resize((240 * len(sheet) * 2, 320), Image.NEAREST).save(args.sheet)


if __name__ == "__main__":
    main()
