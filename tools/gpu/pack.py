"""Compact training and validation packs that travel with the working tree to a lent GPU machine.

    python -m tools.gpu.pack --train ../shared/data/train --val ../shared/data/val/bsd100 --out .gpu-pack

The device gets the repository (64 MiB in all, the shipped weights about 37 MB of it) and not
../shared, so the photos go as crops: `train.npz`, one random crop x crop crop of every training image
(in turn, until the budget is spent), JPEG quality 95 without chroma subsampling; `val.npz`, the
center crops of the first --val-count validation images as PNG (exact pixels). See tadmcodec.training.data
for the format. Prints what was packed as JSON.
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

from tadmcodec.training.data import list_images


def encode_images(images: list[Image.Image], fmt: str) -> tuple[np.ndarray, np.ndarray]:
    """(data, offsets) of the images encoded one after the other."""
    blobs = []
    for image in images:
        buffer = io.BytesIO()
        if fmt == "JPEG":
            image.save(buffer, "JPEG", quality=95, subsampling=0)
        else:
            image.save(buffer, "PNG", optimize=True)
        blobs.append(buffer.getvalue())
    offsets = np.cumsum([0, *map(len, blobs)]).astype(np.int64)
    return np.frombuffer(b"".join(blobs), np.uint8), offsets


def write_pack(path: Path, images: list[Image.Image], fmt: str) -> int:
    data, offsets = encode_images(images, fmt)
    np.savez(path, data=data, offsets=offsets)
    return path.stat().st_size


def random_crop(image: Image.Image, crop: int, rng: np.random.Generator) -> Image.Image:
    if min(image.size) < crop:
        scale = crop / min(image.size)
        image = image.resize((max(crop, round(image.width * scale)), max(crop, round(image.height * scale))))
    x, y = rng.integers(0, image.width - crop + 1), rng.integers(0, image.height - crop + 1)
    return image.crop((x, y, x + crop, y + crop))


def center_crop(image: Image.Image, crop: int) -> Image.Image:
    x, y = max(0, (image.width - crop) // 2), max(0, (image.height - crop) // 2)
    return image.crop((x, y, x + min(crop, image.width), y + min(crop, image.height)))


def pack(
    train: list[Path],
    val: list[Path],
    out: Path,
    crop: int = 256,
    train_mb: float = 16.0,
    val_count: int = 24,
    seed: int = 0,
) -> dict:
    """Write out/train.npz (random crops within train_mb) and out/val.npz; return their sizes and counts."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    sources = list_images(train)
    crops: list[Image.Image] = []
    size, budget = 0, train_mb * 1e6
    while size < budget:  # one crop of each image in turn, more passes while the budget allows
        for path in sources:
            with Image.open(path) as image:
                crops.append(random_crop(image.convert("RGB"), crop, rng))
            size += len(encode_images(crops[-1:], "JPEG")[0])
            if size >= budget:
                break
    validation = []
    for path in list_images(val)[:val_count]:
        with Image.open(path) as image:
            validation.append(center_crop(image.convert("RGB"), crop))
    return {
        "train_crops": len(crops),
        "crop": crop,
        "train_bytes": write_pack(out / "train.npz", crops, "JPEG"),
        "val_crops": len(validation),
        "val_bytes": write_pack(out / "val.npz", validation, "PNG"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", nargs="+", type=Path, required=True)
    parser.add_argument("--val", nargs="+", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path(".gpu-pack"))
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--train-mb", type=float, default=9.0, help="budget of the training pack, MB")
    parser.add_argument("--val-count", type=int, default=24)
    args = parser.parse_args()
    print(json.dumps(pack(args.train, args.val, args.out, args.crop, args.train_mb, args.val_count), indent=1))


if __name__ == "__main__":
    main()
