"""Tile geometry: patch windows and the ramps that blend overlapping tiles."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from tadmcodec_formats import latent_size_of, patch_starts

from ..io.raster import Box


def ramp(length: int, overlap: int, rise: bool, fall: bool) -> np.ndarray:
    """1-D float64 blending weights: linear ramps over `overlap` samples on the sides that have a neighbour."""
    weights = np.ones(length)
    if overlap > 0:
        position = np.arange(length, dtype=np.float64) + 0.5
        if rise:
            weights = np.minimum(weights, position / overlap)
        if fall:
            weights = np.minimum(weights, (length - position) / overlap)
    return weights


@dataclass(frozen=True)
class PatchWindow:
    """One latent patch: its row-major index and its latent box."""

    index: int
    box: Box

    def weights(self, latent_size: tuple[int, int], overlap: int, factor: int = 1) -> np.ndarray:
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


def lr_patch_windows(lr_size: tuple[int, int], scale: int, patch: int, overlap: int) -> list[PatchWindow]:
    """The patch windows of an LR image of lr_size (width, height) at `scale`: the grid a file stores."""
    return patch_windows(latent_size_of(*lr_size, scale), patch, overlap)


def batched(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
