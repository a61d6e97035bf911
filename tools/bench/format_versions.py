"""Format version 2 against version 1 on the same content (issue 33's speed rule): bytes, writing the
container, reading the thumbnail (the whole LR) and verifying, as ratios measured in one run, the two
versions interleaved.

    python -m tools.bench.format_versions IMAGE [--repeats 30] [--out FILE]

Content: the image resized to the LR of an 8000 x 8000 picture at 16x (500 x 500, 4 tiles of 256) and
to that of a 768 x 512 one (48 x 32, one tile), with a patch grid of the default model's shape.
"""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from tadmcodec_formats import ColourType, Header, LRCodec, PatchGrid, TadmReader, patch_count, write_tadm
from tools.bench.report import cpu, emit

SIZES = {"8000x8000": (8000, 8000), "768x512": (768, 512)}
CODEC = {1: LRCodec.ZSTD_PREDICTIVE, 2: LRCodec.PER_TILE}


def content(image: Path, width: int, height: int) -> tuple[Header, np.ndarray, PatchGrid]:
    header = Header(
        width=width,
        height=height,
        scale=16,
        colour_type=ColourType.RGB,
        model_id="default-16x-r10",
        model_sha256=bytes(32),
    )
    with Image.open(image) as opened:
        lr = np.asarray(opened.convert("RGB").resize((header.lr_width, header.lr_height), Image.Resampling.LANCZOS))
    lw, lh = header.latent_size
    steps = np.random.default_rng(0).integers(10, 70, (patch_count(lh, 32, 4), patch_count(lw, 32, 4)))
    return header, lr, PatchGrid(32, 4, steps)


def best_of(function: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def encode(header: Header, lr: np.ndarray, grid: PatchGrid, version: int) -> bytes:
    buffer = io.BytesIO()
    write_tadm(buffer, replace(header, lr_codec=CODEC[version]), lr, grid, version=version)
    return buffer.getvalue()


def measure(header: Header, lr: np.ndarray, grid: PatchGrid, repeats: int) -> dict[str, Any]:
    """Bytes, and the best seconds of each operation per version, the versions taking turns twice."""
    files = {version: encode(header, lr, grid, version) for version in (1, 2)}
    assert np.array_equal(TadmReader(files[1]).read_lr(), TadmReader(files[2]).read_lr())
    operations: dict[str, Callable[[int], object]] = {
        "write": lambda version: encode(header, lr, grid, version),
        "thumbnail": lambda version: TadmReader(files[version]).read_lr(),
        "verify": lambda version: TadmReader(files[version]).verify(),
    }
    seconds: dict[str, dict[int, float]] = {name: {1: float("inf"), 2: float("inf")} for name in operations}
    for _ in range(2):
        for version in (1, 2):
            for name, operation in operations.items():
                best = best_of(lambda: operation(version), repeats)  # noqa: B023 (called at once)
                seconds[name][version] = min(seconds[name][version], best)
    return {
        "bytes": {f"v{v}": len(files[v]) for v in (1, 2)},
        "ms": {name: {f"v{v}": round(1000 * t, 3) for v, t in values.items()} for name, values in seconds.items()},
        "v2_over_v1": {name: round(values[2] / values[1], 3) for name, values in seconds.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", type=Path)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    report: dict[str, Any] = {"cpu": cpu(), "repeats": args.repeats}
    for name, (width, height) in SIZES.items():
        report[name] = measure(*content(args.image, width, height), args.repeats)
    emit(report, args.out)


if __name__ == "__main__":
    main()
