"""Ultra-high-resolution benchmark: peak memory and speed of streaming encode and decode by image size.

    python -m tadmcodec.evaluation.large_images PHOTO_DIR --sizes 25 100 400 31616x2048 --work DIR [--out FILE]

A size is megapixels of a square image or WIDTH x HEIGHT: since decode memory follows the width, a
strip as wide as a gigapixel square shows that square's peak memory at a fraction of its time.
For each size it writes a synthetic tiled TIFF with real structure (photos from PHOTO_DIR tiled with
mirroring and a smooth warp, generated tile by tile), then runs, each in a fresh process so that peak
RSS is its own: encode to .tadm, decode to a pyramidal BigTIFF, decode one 1024 x 1024 region, and
read the thumbnail. Times exclude loading the model (reported as load_s). Prints and saves one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image

from ..io.image_input import IMAGE_SUFFIXES
from ..store.registry import default_models
from .memory import peak_rss_mb

TILE = 512


def _photos(folder: Path, count: int = 3, max_side: int = 2048) -> list[np.ndarray]:
    images = []
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[:count]:
        with Image.open(path) as image:
            image.thumbnail((max_side, max_side))
            images.append(np.asarray(image.convert("RGB")))
    return images


def _tile(photos: list[np.ndarray], x0: int, y0: int, size: int) -> np.ndarray:
    """Photos laid side by side (mirrored at their borders) under a smooth sinusoidal warp."""
    yy, xx = np.mgrid[y0 : y0 + size, x0 : x0 + size].astype(np.float32)
    warp_x = xx + 40 * np.sin(yy / 310.0) + 15 * np.sin(xx / 97.0)
    warp_y = yy + 40 * np.sin(xx / 270.0) + 15 * np.cos(yy / 113.0)
    photo = photos[(x0 // 4096 + y0 // 4096) % len(photos)]
    height, width = photo.shape[:2]

    def mirror(v: np.ndarray, n: int) -> np.ndarray:
        v = np.mod(v.astype(np.int64), 2 * n)
        return np.where(v < n, v, 2 * n - 1 - v)

    return photo[mirror(warp_y, height), mirror(warp_x, width)]


def make_tiff(path: Path, width: int, height: int, photos: list[np.ndarray]) -> None:
    """A width x height tiled BigTIFF written tile by tile (never held whole)."""
    tiles = (_tile(photos, x, y, TILE) for y in range(0, height, TILE) for x in range(0, width, TILE))
    tifffile.imwrite(
        path,
        tiles,
        shape=(height, width, 3),
        dtype=np.uint8,
        tile=(TILE, TILE),
        photometric="rgb",
        bigtiff=True,
        compression="zlib",
        metadata=None,
    )


def _child(what: str, source: str, target: str, model: str | None) -> dict[str, float]:
    from .. import api
    from ..api import load_codec
    from ..runtime.decoders import decoder_for_header

    start = time.perf_counter()
    if what == "encode":
        load_codec(model, 16, None)
    elif what != "thumbnail":
        decoder_for_header(api.read_header(source))
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    if what == "encode":
        api.encode(source, target, scale=16, model=model)
    elif what == "decode":
        api.decode_to_file(source, target)
    elif what == "region":
        header = api.read_header(source)
        width, height = min(1024, header.width), min(1024, header.height)
        left, upper = (header.width - width) // 2, (header.height - height) // 2
        api.decode_to_file(source, target, box=(left, upper, left + width, upper + height))
    else:
        api.read_thumbnail(source)
    return {"seconds": time.perf_counter() - start, "load_s": load_s, "peak_rss_mb": peak_rss_mb()}


def _run(what: str, source: Path, target: Path, model: str | None) -> dict[str, float]:
    command = [sys.executable, "-m", "tadmcodec.evaluation.large_images", "--child", what, str(source), str(target)]
    output = subprocess.run(
        command + (["--model", model] if model else []), check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def parse_size(text: str) -> tuple[int, int]:
    """'400' (megapixels: the square of that area, side a multiple of 16) or 'WIDTHxHEIGHT'."""
    try:
        if "x" in text:
            width, height = (int(v) for v in text.split("x"))
        else:
            width = height = int(math.sqrt(float(text) * 1e6)) // 16 * 16
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither megapixels nor WIDTHxHEIGHT") from None
    if width < 16 or height < 16:
        raise argparse.ArgumentTypeError(f"{text!r} is smaller than 16 x 16")
    return width, height


def benchmark(
    photo_dir: Path, sizes: list[tuple[int, int]], work: Path, model: str | None, steps: list[str]
) -> dict[str, object]:
    work.mkdir(parents=True, exist_ok=True)
    photos = _photos(photo_dir)
    rows = []
    for width, height in sizes:
        name = f"{width}x{height}"
        tiff, tadm = work / f"input-{name}.tif", work / f"image-{name}.tadm"
        if not tiff.exists():
            make_tiff(tiff, width, height, photos)
        row: dict[str, object] = {
            "megapixels": width * height / 1e6,
            "width": width,
            "height": height,
            "input_bytes": tiff.stat().st_size,
        }
        targets = {
            "encode": tadm,
            "decode": work / f"decoded-{name}.tif",
            "region": work / f"region-{name}.png",
            "thumbnail": work / "unused",
        }
        for step in steps:
            row[step] = _run(step, tiff if step == "encode" else tadm, targets[step], model)
            if step in ("encode", "decode"):
                row[step]["mp_per_s"] = row["megapixels"] / row[step]["seconds"]
        row["tadm_bytes"] = tadm.stat().st_size
        if "region" in row and "decode" in row:
            row["region_vs_full_decode"] = row["region"]["seconds"] / row["decode"]["seconds"]
        targets["decode"].unlink(missing_ok=True)
        rows.append(row)
        print(json.dumps(row), flush=True)
    return {"model": model or default_models()[16], "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, help="PHOTO_DIR (or child arguments)")
    parser.add_argument(
        "--sizes",
        type=parse_size,
        nargs="+",
        default=[parse_size(v) for v in ("25", "100", "400")],
        help="megapixels of a square image, or WIDTHxHEIGHT",
    )
    parser.add_argument("--work", type=Path, default=Path("large-image-bench"))
    parser.add_argument("--model")
    parser.add_argument(
        "--steps",
        nargs="+",
        choices=("encode", "decode", "region", "thumbnail"),
        default=["encode", "decode", "region", "thumbnail"],
    )
    parser.add_argument("--out", type=Path)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, str(args.paths[0]), str(args.paths[1]), args.model)))
        return
    report = benchmark(args.paths[0], args.sizes, args.work, args.model, args.steps)
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
