"""Make a model whose encoder sets the timesteps from the original's texture (issue 13, target 3).

Measures every patch's mean detail energy D on training images (the model's own patch grid and texture
measure: TADM.texture), takes two percentiles of log(1 + D) as the ends of the mapping, and writes a
copy of the model folder with texture_timesteps = (log_low, log_high, t_low, t_high) in its config,
pointed at a backbone (default: the model's own). The weights are the model's own; only how the
encoder chooses the stored timesteps changes (the decoder reads them from the file as before).

    python -m tools.texture_timesteps default-16x runs/release-r3/default-16x-r3 \\
        --train ../shared/data/train --count 200 --timesteps 10 100 [--percentiles 10 90] [--backbone DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
import torch

from tadmcodec.codec import Codec
from tadmcodec.evaluation.validate import named_images
from tadmcodec.hashing import copy_resolving_links
from tadmcodec.model_files import backbone_folder, write_backbone_reference
from tadmcodec.pipeline.encode import window_means
from tadmcodec.pipeline.geometry import lr_patch_windows
from tadmcodec.pixels import images_to_tensor
from tadmcodec.registry import resolve_model
from tools.reports import emit


def patch_log_energies(codec: Codec, image: np.ndarray) -> np.ndarray:
    """log(1 + mean detail energy) of each patch of the image, as the encoder measures it."""
    model, scale = codec.model, codec.scale
    padded = np.pad(image, ((0, -image.shape[0] % scale), (0, -image.shape[1] % scale), (0, 0)), mode="edge")
    with torch.no_grad():
        texture = model.texture(images_to_tensor(padded[None]))[0].double().numpy()
    windows = lr_patch_windows(
        (texture.shape[1], texture.shape[0]), scale, model.config.patch_size, model.config.patch_overlap
    )
    return np.log1p(window_means(texture, windows, scale))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a model name or folder")
    parser.add_argument("out", type=Path, help="the new model folder (must not exist)")
    parser.add_argument("--train", nargs="+", required=True)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--timesteps", type=int, nargs=2, required=True, metavar=("T_LOW", "T_HIGH"))
    parser.add_argument("--percentiles", type=float, nargs=2, default=(10.0, 90.0))
    parser.add_argument("--backbone", type=Path, help="the backbone folder (default: the model's own)")
    args = parser.parse_args()
    if args.out.exists():
        raise SystemExit(f"{args.out} exists")
    codec = Codec.load(args.model, allow_path=True)
    images = named_images(args.train)
    picked = [images[i] for i in np.linspace(0, len(images) - 1, min(args.count, len(images))).astype(int)]
    energies = np.concatenate([patch_log_energies(codec, image) for _, image in picked])
    log_low, log_high = (round(float(v), 4) for v in np.percentile(energies, args.percentiles))
    source = Path(args.model) if Path(args.model).is_dir() else resolve_model(args.model)
    copy_resolving_links(source, args.out, shutil.ignore_patterns("backbone.json", "*.png", "*.json", "*.md"))
    config = json.loads((source / "config.json").read_text())
    config["texture_timesteps"] = [log_low, log_high, *args.timesteps]
    (args.out / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    write_backbone_reference(args.out, args.backbone or backbone_folder(source)[0])
    emit(
        {
            "model": str(args.out),
            "images": len(picked),
            "patches": int(energies.size),
            "texture_timesteps": config["texture_timesteps"],
            "percentiles": list(args.percentiles),
        },
        None,
    )


if __name__ == "__main__":
    main()
