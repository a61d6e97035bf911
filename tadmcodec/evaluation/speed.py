"""Encode and decode speed (MP/s) and peak memory of a model on a synthetic image with structure.

    python -m tadmcodec.evaluation.speed default-16x --size 1024 [--device cpu]

Each measurement runs in a fresh process so that peak RSS is its own; prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np

from .memory import peak_rss_mb


def synthetic(size: int, seed: int = 0) -> np.ndarray:
    """A smooth-plus-texture test image: gradients, rings and noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    rings = 60 * np.sin(np.hypot(xx - size / 2, yy - size / 3) / 9.0)
    base = np.stack([xx / size * 200 + rings, yy / size * 180 - rings, 120 + rings * 0.5], -1)
    return np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)


def _measure(model: str, size: int, device: str | None, what: str) -> dict[str, float]:
    from ..io.raster import ArrayRaster
    from ..runtime.codec import Codec

    codec = Codec.load(model, device, allow_path=True)
    image = synthetic(size)
    lr, grid = codec.encode(image[:64, :64])  # warm up
    start = time.perf_counter()
    lr, grid = codec.encode(image)
    encode_s = time.perf_counter() - start
    result = {"encode_s": encode_s}
    if what == "decode":
        start = time.perf_counter()
        codec.decoder.decode(ArrayRaster(lr), grid, (size, size))
        result["decode_s"] = time.perf_counter() - start
    result["peak_rss_mb"] = peak_rss_mb()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--device")
    parser.add_argument("--child", choices=("encode", "decode"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_measure(args.model, args.size, args.device, args.child)))
        return
    report: dict[str, object] = {"model": args.model, "size": args.size}
    for what in ("encode", "decode"):
        command = [
            sys.executable,
            "-m",
            "tadmcodec.evaluation.speed",
            args.model,
            "--size",
            str(args.size),
            "--child",
            what,
        ] + (["--device", args.device] if args.device else [])
        measured = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
        report[f"{what}_peak_rss_mb"] = round(measured["peak_rss_mb"], 1)
        report[f"{what}_mp_per_s"] = round(args.size**2 / 1e6 / measured[f"{what}_s"], 4)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
