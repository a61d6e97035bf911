"""Time reading the header, the header plus the thumbnail, and the whole verified file of a large container.

    python -m tools.bench.prefix --side 32768 --out /tmp/bench.tadm

Writes an RGB and an RGBA container (structured synthetic LR, smooth full-resolution alpha) and
prints the times and ratios as JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tadmcodec_formats.header import ColourType, Header
from tadmcodec_formats.patches import PatchGrid, patch_count
from tadmcodec_formats.reader import TadmReader
from tadmcodec_formats.writer import TadmWriter


def _write(path: Path, side: int, colour: ColourType) -> None:
    header = Header(width=side, height=side, scale=16, colour_type=colour, model_id="bench", model_sha256=bytes(32))
    rng = np.random.default_rng(0)
    with TadmWriter(path, header, zstd_level=3) as writer:
        for index in range(header.tile_count):
            x0, y0, x1, y1 = header.lr_tile_box(index)
            yy, xx = np.mgrid[y0:y1, x0:x1]
            base = (np.sin(xx / 37.0) * 60 + np.cos(yy / 23.0) * 60 + 128)[..., None]
            tile = base + rng.normal(0, 6, (y1 - y0, x1 - x0, header.lr_channels))
            writer.write_lr_tile(np.clip(tile, 0, 255).astype(np.uint8))
        lw, lh = header.latent_size
        writer.write_patches(PatchGrid(64, 8, np.full((patch_count(lh, 64, 8), patch_count(lw, 64, 8)), 500)))
        if colour.has_alpha:
            for index in range(header.tile_count):
                x0, y0, x1, y1 = header.alpha_tile_box(index)
                writer.write_alpha_tile(
                    np.broadcast_to(((np.arange(x0, x1) // 64) % 256).astype(np.uint8), (y1 - y0, x1 - x0))
                )


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def _measure(path: Path) -> dict[str, float]:
    def header() -> None:
        TadmReader(path).close()

    def thumbnail() -> None:
        with TadmReader(path) as reader:
            reader.read_lr()

    def whole() -> None:
        with TadmReader(path) as reader:
            reader.read_all()

    times = {
        name: min(_timed(f) for _ in range(3))
        for name, f in (("header_s", header), ("header_and_thumbnail_s", thumbnail), ("whole_file_verified_s", whole))
    }
    times["thumbnail_over_whole"] = round(times["header_and_thumbnail_s"] / times["whole_file_verified_s"], 4)
    times["header_over_whole"] = round(times["header_s"] / times["whole_file_verified_s"], 6)
    return {k: round(v, 4) for k, v in times.items()} | {"file_bytes": path.stat().st_size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=32768)
    parser.add_argument("--out", type=Path, default=Path("/tmp/tadm-bench"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    report = {}
    for colour in (ColourType.RGB, ColourType.RGBA):
        path = args.out / f"{colour.mode.lower()}-{args.side}.tadm"
        _write(path, args.side, colour)
        report[colour.mode] = _measure(path)
    print(json.dumps({"side": args.side, **report}, indent=2))


if __name__ == "__main__":
    main()
