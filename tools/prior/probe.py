"""A quick look at texture-prior checkpoints and their dial: the prior applied to the default model's
decodes of the first N validation images (cached), with tools.prior.compare's measures (ST-LPIPS Alex
and VGG, PSNR-Y, detail ratio, grid, checkerboard, pattern), against the decode without it and bicubic
at the same LR size; with
--strengths, the dial's blends of the decode into the prior's pixels (computed on uint8 images here,
within a level of what decoding gives). Releases are measured with `tadmcodec eval`.

    python -m tools.prior.probe PRIOR_FOLDER [PRIOR_FOLDER ...] --val ../shared/data/val/bsd100 --limit 10 \
        [--scale 16] [--strengths 0.5 0.75 1] [--out FILE.json]
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
from tadmcodec.evaluation.baselines import rescale_baseline
from tadmcodec.models.texture_prior import TexturePrior
from tadmcodec.nn.pixels import images_to_tensor
from tadmcodec.pipeline.networks import to_uint8_images
from tadmcodec.pipeline.texture_stage import texture_map
from tadmcodec.store.folder import read_config
from tadmcodec.store.registry import default_models, resolve_model
from tadmcodec_formats import TadmReader
from tools.prior.compare import measures


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("priors", nargs="+", type=Path)
    parser.add_argument("--val", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--scale", type=int, default=16)
    parser.add_argument("--cache", type=Path, default=Path("runs/probe-cache"))
    parser.add_argument("--sheet", type=Path, help="save the first image's crops side by side here")
    parser.add_argument("--strengths", type=float, nargs="+", default=[1.0], help="dial settings to measure")
    parser.add_argument("--out", type=Path, help="write the means as JSON here")
    args = parser.parse_args()
    pairs = decodes(args.val, args.limit, args.scale, args.cache)
    rows = {
        "decode": [measures(o, d, vgg=True) for o, d, _ in pairs],
        "bicubic": [
            measures(o, rescale_baseline(o, args.scale, Image.Resampling.BICUBIC), vgg=True) for o, _, _ in pairs
        ],
    }
    sheet = [pairs[0][0][:160, :240], pairs[0][1][:160, :240]]
    for folder in args.priors:
        prior = TexturePrior.from_pretrained(folder)
        outputs = [refined(prior, d, t) for _, d, t in pairs]
        for strength in args.strengths:
            blends = [
                np.round(d + strength * (r.astype(np.float64) - d)).clip(0, 255).astype(np.uint8)
                for (_, d, _), r in zip(pairs, outputs, strict=True)
            ]
            rows[f"{folder} at {strength}"] = [
                measures(o, b, vgg=True) for (o, _, _), b in zip(pairs, blends, strict=True)
            ]
        sheet.append(outputs[0][:160, :240])
    means = {
        name: {k: round(float(np.mean([v[k] for v in values])), 4) for k in values[0]} | {"images": len(values)}
        for name, values in rows.items()
    }
    for name, values in means.items():
        print(json.dumps({"model": name} | values))
    if args.out:
        args.out.write_text(json.dumps({"scale": args.scale, "val": str(args.val), "means": means}, indent=1) + "\n")
    if args.sheet:
        Image.fromarray(np.concatenate(sheet, 1)).resize((240 * len(sheet) * 2, 320), Image.NEAREST).save(args.sheet)


if __name__ == "__main__":
    main()
