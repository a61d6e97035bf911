"""Measure the LR payload codec against optimized PNG and lossless WebP on a folder of images.

    python -m tools.bench.payload ../shared/data/val/bsd100 ../shared/data/val/large

The LR images are Lanczos downscales (a stand-in for the learned LR, which has the same statistics
of a thumbnail). Prints one JSON object with byte totals per scale and the ratios.
"""

from __future__ import annotations

import argparse
import io
import json
import time
from pathlib import Path

import numpy as np
from PIL import Image

from tadmcodec_formats.header import ColourType, Header
from tadmcodec_formats.lrcodec import encode_tile

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp"}


def tadm_payload_bytes(lr: np.ndarray, scale: int) -> int:
    """Bytes of all LR tile payloads (default 256x256 tiles) for an (h, w, 3) LR image."""
    header = Header(
        width=lr.shape[1] * scale,
        height=lr.shape[0] * scale,
        scale=scale,
        colour_type=ColourType.RGB,
        model_id="bench",
        model_sha256=bytes(32),
    )
    total = 0
    for index in range(header.tile_count):
        x0, y0, x1, y1 = header.lr_tile_box(index)
        total += len(encode_tile(np.ascontiguousarray(lr[y0:y1, x0:x1]), header.lr_codec))
    return total


def pillow_bytes(lr: np.ndarray, **options: object) -> int:
    buffer = io.BytesIO()
    Image.fromarray(lr).save(buffer, **options)
    return buffer.tell()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--scales", nargs="+", type=int, default=[16, 32])
    args = parser.parse_args()
    paths = sorted(p for f in args.folders for p in f.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    report: dict[str, object] = {"images": len(paths)}
    for scale in args.scales:
        totals = {"tadm": 0, "png_optimized": 0, "webp_lossless": 0, "raw": 0}
        seconds = 0.0
        for path in paths:
            with Image.open(path) as image:
                rgb = image.convert("RGB")
            size = (max(1, -(-rgb.width // scale)), max(1, -(-rgb.height // scale)))
            lr = np.asarray(rgb.resize(size, Image.Resampling.LANCZOS))
            start = time.perf_counter()
            totals["tadm"] += tadm_payload_bytes(lr, scale)
            seconds += time.perf_counter() - start
            totals["png_optimized"] += pillow_bytes(lr, format="PNG", optimize=True)
            totals["webp_lossless"] += pillow_bytes(lr, format="WEBP", lossless=True, quality=100, method=6)
            totals["raw"] += lr.size
        report[f"{scale}x"] = {
            "bytes": totals,
            "tadm_over_png": round(totals["tadm"] / totals["png_optimized"], 3),
            "tadm_over_webp": round(totals["tadm"] / totals["webp_lossless"], 3),
            "tadm_encode_seconds": round(seconds, 2),
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
