"""How small could a context-modelling coder of our own make the stored LR (issue 33)? The ideal code
length of an adaptive binary context model, measured on the same LRs as tools.bench.lr_coding, against
JPEG XL lossless (effort 9 and 10) of the same pixels.

    python -m tools.bench.lr_context_model IMAGES_FOLDER --train ../shared/data/train [--limit 12] [--out FILE]

The model (a candidate for a tile codec, not a coder yet): channels in the order G, R, B; each sample
predicted by 3/4 of MED (LOCO-I's median edge detector) plus 1/4 of the mean of the pixels above and
above-right, R and B corrected by G's residual at the same pixel; the residual binarised as a zero flag,
a sign, an exponent in unary and its mantissa, each binary decision coded with an adaptive probability
(1 / (n + 0.5) steps, n capped at 30) in a context of the channel (G or not) and the quantised local
activity (neighbour gradients plus the neighbours' residuals). Bytes are the sum of -log2 p over all
decisions, / 8, plus 2 per image for an arithmetic coder's flush: a bound an arithmetic coder reaches
within a few bytes. "Trained" starts every probability from its frequency on area-downscaled training
photos (both scales) instead of 1/2, with the confidence of 8 observations: the initial state a
specification would fix as a table.
"""

from __future__ import annotations

import argparse
import io
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from tools.bench.lr_coding import image_files, photograph, stored_lr
from tools.bench.report import emit

ADAPTATION_LIMIT = 30
TRAINED_CONFIDENCE = 8
FLUSH_BYTES = 2
Key = tuple[Any, ...]


def med(north: int, west: int, north_west: int) -> int:
    """LOCO-I's median edge detector."""
    if north_west >= max(north, west):
        return min(north, west)
    if north_west <= min(north, west):
        return max(north, west)
    return north + west - north_west


class AdaptiveBits:
    """Adaptive binary probabilities per context key; cost() adds a decision's ideal code length."""

    def __init__(self, initial: dict[Key, tuple[float, int]] | None = None, counts: dict | None = None) -> None:
        self.initial, self.counts = initial or {}, counts
        self.state: dict[Key, list[float]] = {}
        self.bits = 0.0

    def cost(self, key: Key, bit: bool) -> None:
        state = self.state.get(key)
        if state is None:
            state = self.state[key] = list(self.initial.get(key, (0.5, 0)))
        p = min(max(state[0], 1 / 4096), 1 - 1 / 4096)
        self.bits -= math.log2(p if bit else 1 - p)
        state[1] = min(state[1] + 1, ADAPTATION_LIMIT)
        state[0] += (float(bit) - state[0]) / (state[1] + 0.5)
        if self.counts is not None:
            self.counts.setdefault(key, [0, 0])[bit] += 1


def code_length(lr: np.ndarray, model: AdaptiveBits) -> float:
    """Bits the model spends on an (h, w, 3) uint8 image."""
    pixels = lr[..., [1, 0, 2]].astype(np.int32).tolist()
    height, width = lr.shape[:2]
    residuals = [[[0] * 3 for _ in range(width)] for _ in range(height)]
    for y in range(height):
        for x in range(width):
            green_residual = 0
            for c in range(3):
                west = pixels[y][x - 1][c] if x else (pixels[y - 1][x][c] if y else 128)
                north = pixels[y - 1][x][c] if y else west
                north_west = pixels[y - 1][x - 1][c] if y and x else north
                north_east = pixels[y - 1][x + 1][c] if y and x + 1 < width else north
                prediction = (3 * med(north, west, north_west) + (north + north_east) // 2) // 4
                prediction = min(255, max(0, prediction + (green_residual if c else 0)))
                residual = pixels[y][x][c] - prediction
                if c == 0:
                    green_residual = residual
                activity = abs(north - north_west) + abs(west - north_west) + abs(north_east - north)
                activity += 2 * (abs(residuals[y][x - 1][c]) if x else 0) + 2 * (
                    abs(residuals[y - 1][x][c]) if y else 0
                )
                residuals[y][x][c] = residual
                context = (min(c, 1), 0 if activity == 0 else min(10, int(math.log2(activity)) + 1))
                code_residual(model, context, residual)
    return model.bits


def code_residual(model: AdaptiveBits, context: Key, residual: int) -> None:
    """Zero flag, sign, unary exponent of |r| (Elias gamma's), then the mantissa's top two bits in context
    and the rest in one shared context."""
    model.cost((*context, "zero"), residual == 0)
    if residual == 0:
        return
    model.cost((*context, "sign"), residual < 0)
    magnitude = abs(residual)
    exponent = magnitude.bit_length() - 1
    for i in range(exponent):
        model.cost((*context, "exponent", i), True)
    if exponent < 8:
        model.cost((*context, "exponent", exponent), False)
    for i in range(exponent - 1, -1, -1):
        key = (context[0], "mantissa", exponent, i) if i >= exponent - 2 else ("low",)
        model.cost(key, bool((magnitude >> i) & 1))


def area_downscale(path: Path, scale: int) -> np.ndarray:
    with Image.open(path) as image:
        rgb = np.asarray(image.convert("RGB"), np.float64)
    lh, lw = rgb.shape[0] // scale, rgb.shape[1] // scale
    blocks = rgb[: lh * scale, : lw * scale].reshape(lh, scale, lw, scale, 3)
    return np.round(blocks.mean((1, 3))).astype(np.uint8)


def trained_initial_state(train: Path, count: int) -> dict[Key, tuple[float, int]]:
    """Each decision's frequency of 1 over area-downscaled training photos at both scales."""
    counts: dict[Key, list[int]] = {}
    for path in image_files(train, recursive=True)[:count]:
        for scale in (16, 32):
            code_length(area_downscale(path, scale), AdaptiveBits(counts=counts))
    return {key: ((ones + 0.4) / (zeros + ones + 0.8), TRAINED_CONFIDENCE) for key, (zeros, ones) in counts.items()}


def jxl_bytes(lr: np.ndarray, effort: int) -> int:
    import pillow_jxl  # noqa: F401  (registers JPEG XL with Pillow)

    buffer = io.BytesIO()
    Image.fromarray(lr).save(buffer, format="JXL", lossless=True, effort=effort)
    with Image.open(io.BytesIO(buffer.getvalue())) as image:
        assert np.array_equal(np.asarray(image.convert("RGB")), lr), "JPEG XL is not lossless here"
    return buffer.tell()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", type=Path)
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--train-images", type=int, default=60)
    parser.add_argument("--limit", type=int, default=12)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    initial = trained_initial_state(args.train, args.train_images)
    paths = image_files(args.images)[: args.limit]
    report: dict[str, Any] = {"images": [p.name for p in paths], "size": [768, 512], "train_images": args.train_images}
    for scale in (16, 32):
        totals = dict.fromkeys(("context_model", "context_model_trained", "jxl_e9", "jxl_e10"), 0.0)
        seconds, samples = 0.0, 0
        for path in paths:
            lr = stored_lr(photograph(path), scale)
            start = time.perf_counter()
            totals["context_model"] += code_length(lr, AdaptiveBits()) / 8 + FLUSH_BYTES
            seconds += time.perf_counter() - start
            samples += lr.size
            totals["context_model_trained"] += code_length(lr, AdaptiveBits(initial)) / 8 + FLUSH_BYTES
            totals["jxl_e9"] += jxl_bytes(lr, 9)
            totals["jxl_e10"] += jxl_bytes(lr, 10)
        report[f"{scale}x"] = {
            "bytes": {name: round(value) for name, value in totals.items()},
            "over_jxl_e9": {name: round(value / totals["jxl_e9"], 3) for name, value in totals.items()},
            "python_estimator_us_per_sample": round(1e6 * seconds / samples, 1),
        }
    emit(report, args.out)


if __name__ == "__main__":
    main()
