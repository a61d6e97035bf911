"""Decode speed of two models on one photo, in one run, alternating (the ratio is what compares).

    python -m tools.prior.speed PHOTO --models default-16x-r10 default-16x-r11 [--size 4000 3000] [--repeat 2]

The photo is center-cropped to --size, encoded with each model (metadata stripped) and decoded in this
process on the auto runtime (ONNX Runtime on a CPU-only machine), `repeat` times per model, alternating.
Prints median seconds, MP/s, the ratio, the CPU model and flags (lscpu), as JSON.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image

import tadmcodec
from tools.bench.report import cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo", type=Path)
    parser.add_argument("--models", nargs=2, required=True)
    parser.add_argument("--size", type=int, nargs=2, default=[4000, 3000])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with Image.open(args.photo) as opened:
        rgb = np.asarray(opened.convert("RGB"))
    width, height = args.size
    y0, x0 = (rgb.shape[0] - height) // 2, (rgb.shape[1] - width) // 2
    crop = np.ascontiguousarray(rgb[y0 : y0 + height, x0 : x0 + width])
    files = {}
    for model in args.models:
        buffer = io.BytesIO()
        tadmcodec.encode(crop, buffer, model=model, scale=16 if "16x" in model else 32, strip_metadata=True)
        files[model] = buffer.getvalue()
    seconds: dict[str, list[float]] = {model: [] for model in args.models}
    for _ in range(args.repeat):
        for model in args.models:
            start = time.perf_counter()
            tadmcodec.decode(files[model], as_array=True)
            seconds[model].append(time.perf_counter() - start)
    megapixels = width * height / 1e6
    medians = {model: statistics.median(values) for model, values in seconds.items()}
    first, second = args.models
    result = {
        "photo": args.photo.name,
        "size": [width, height],
        "cpu": cpu(),
        "seconds": seconds,
        "mp_per_s": {m: round(megapixels / s, 3) for m, s in medians.items()},
        "ratio_second_to_first_time": round(medians[second] / medians[first], 2),
    }
    print(json.dumps(result, indent=1))
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
