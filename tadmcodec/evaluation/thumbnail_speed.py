"""Thumbnail time of a .tadm against a JPEG (quality 90) of the same image, as a ratio in one run.

    python -m tadmcodec.evaluation.thumbnail_speed --size 8000 --out /tmp/thumbs

Both use `Image.open(path).thumbnail((256, 256))`; JPEG benefits from draft() (DCT scaling), .tadm
from its stored LR. Prints JSON with the best of `--repeat` times.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from PIL import Image

import tadmcodec_plugins.pillow  # noqa: F401 - registers .tadm with Pillow

from ..api import encode
from .speed import synthetic


def best_thumbnail_seconds(path: Path, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        with Image.open(path) as image:
            image.thumbnail((256, 256))
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=8000)
    parser.add_argument("--scale", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("/tmp/tadm-thumbnails"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    Image.MAX_IMAGE_PIXELS = None
    image = Image.fromarray(synthetic(args.size))
    jpeg, tadm = args.out / "image.jpg", args.out / "image.tadm"
    image.save(jpeg, quality=90)
    if not tadm.exists():
        encode(image, tadm, scale=args.scale)
    jpeg_s, tadm_s = best_thumbnail_seconds(jpeg, args.repeat), best_thumbnail_seconds(tadm, args.repeat)
    print(
        json.dumps(
            {
                "size": args.size,
                "jpeg_q90_s": round(jpeg_s, 4),
                "tadm_s": round(tadm_s, 4),
                "tadm_over_jpeg": round(tadm_s / jpeg_s, 3),
                "jpeg_bytes": jpeg.stat().st_size,
                "tadm_bytes": tadm.stat().st_size,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
