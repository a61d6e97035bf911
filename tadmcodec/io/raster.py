"""Images read by box: the Raster protocol, an in-memory raster and edge-replicated crops (no torch)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

Box = tuple[int, int, int, int]  # x0, y0, x1, y1, end-exclusive


class Raster(Protocol):
    """A readable image (the stored LR, an input image, a tiled TIFF): read(box) gives (h, w, C) uint8
    for a box inside the image, so callers hold only what they crop."""

    width: int
    height: int

    def read(self, box: Box) -> np.ndarray: ...


@dataclass
class ArrayRaster:
    """An image held in memory."""

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


def crop_replicate(source: Raster, box: Box) -> np.ndarray:
    """The box of the source, extended beyond its borders by edge replication (a box wholly outside
    repeats the nearest edge)."""
    x0, y0, x1, y1 = box
    cx0, cy0 = min(max(x0, 0), source.width - 1), min(max(y0, 0), source.height - 1)
    cx1, cy1 = max(min(x1, source.width), cx0 + 1), max(min(y1, source.height), cy0 + 1)
    inner = source.read((cx0, cy0, cx1, cy1))
    if (cx0, cy0, cx1, cy1) == box:
        return inner
    rows = np.clip(np.arange(y0, y1), cy0, cy1 - 1) - cy0
    columns = np.clip(np.arange(x0, x1), cx0, cx1 - 1) - cx0
    return inner[rows[:, None], columns[None, :]]
