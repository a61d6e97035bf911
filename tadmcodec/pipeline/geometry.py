"""Tile geometry: patch windows, replicate-padded crops and the ramps that blend overlapping tiles."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from tadmcodec_formats import patch_starts

Box = tuple[int, int, int, int]  # x0, y0, x1, y1, end-exclusive


class LRSource(Protocol):
    """Anything that returns a box of the stored LR image, (h, w, C) uint8, box inside the image."""

    width: int
    height: int

    def read(self, box: Box) -> np.ndarray: ...


@dataclass
class ArrayLR:
    """An LR image held in memory."""

    pixels: np.ndarray

    @property
    def width(self) -> int:
        return self.pixels.shape[1]

    @property
    def height(self) -> int:
        return self.pixels.shape[0]

    def read(self, box: Box) -> np.ndarray:
        x0, y0, x1, y1 = box
        return self.pixels[y0:y1, x0:x1]


def crop_replicate(source: LRSource, box: Box) -> np.ndarray:
    """The box of the source, extended beyond its borders by edge replication."""
    x0, y0, x1, y1 = box
    cx0, cy0 = min(max(x0, 0), source.width - 1), min(max(y0, 0), source.height - 1)
    cx1, cy1 = max(min(x1, source.width), cx0 + 1), max(min(y1, source.height), cy0 + 1)
    inner = source.read((cx0, cy0, cx1, cy1))
    pad = ((cy0 - y0, y1 - cy1), (cx0 - x0, x1 - cx1)) + ((0, 0),) * (inner.ndim - 2)
    return np.pad(inner, pad, mode="edge") if any(p for pair in pad for p in pair) else inner


def crop_tensor_replicate(image: torch.Tensor, box: Box) -> torch.Tensor:
    """(C, H, W) tensor box with edge replication beyond the borders."""
    _, height, width = image.shape
    x0, y0, x1, y1 = box
    ys = torch.arange(y0, y1).clamp(0, height - 1)
    xs = torch.arange(x0, x1).clamp(0, width - 1)
    return image[:, ys][:, :, xs]


def ramp(length: int, overlap: int, rise: bool, fall: bool) -> torch.Tensor:
    """1-D blending weights: linear ramps over `overlap` samples on the sides that have a neighbour."""
    weights = torch.ones(length, dtype=torch.float64)
    if overlap > 0:
        position = torch.arange(length, dtype=torch.float64) + 0.5
        if rise:
            weights = torch.minimum(weights, position / overlap)
        if fall:
            weights = torch.minimum(weights, (length - position) / overlap)
    return weights


@dataclass(frozen=True)
class PatchWindow:
    """One latent patch: its row-major index and its latent box."""

    index: int
    box: Box

    def weights(self, latent_size: tuple[int, int], overlap: int, factor: int = 1) -> torch.Tensor:
        """(h, w) blending weights for this window, at `factor` times latent resolution."""
        x0, y0, x1, y1 = self.box
        wx = ramp((x1 - x0) * factor, overlap * factor, x0 > 0, x1 < latent_size[0])
        wy = ramp((y1 - y0) * factor, overlap * factor, y0 > 0, y1 < latent_size[1])
        return wy[:, None] * wx[None, :]


def patch_windows(latent_size: tuple[int, int], patch: int, overlap: int) -> list[PatchWindow]:
    """Row-major windows of the grid PatchGrid defines for a latent of latent_size (width, height).

    Every window is patch x patch, so patches batch together and suit the U-Net's downsampling; on
    a latent smaller than a patch the window reaches past it, over edge-replicated LR.
    """
    width, height = latent_size
    xs, ys = patch_starts(width, patch, overlap), patch_starts(height, patch, overlap)
    return [
        PatchWindow(r * len(xs) + c, (x, y, x + patch, y + patch)) for r, y in enumerate(ys) for c, x in enumerate(xs)
    ]


def intersects(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def union(boxes: list[Box]) -> Box:
    return min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)


def batched(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
