"""The texture prior's stage: the rendered image refined by the model's texture prior, tile by tile.

The rendered area (the latent grid's, a little beyond the image where its size is no multiple of 8) is
cut into a fixed grid of TILE x TILE tiles from its origin. Each tile is refined from the rendered
pixels of its box grown by HALO on every side (clipped to the rendered area: every side a multiple of 8,
so of the prior's 4 x 4 folding and of the latent grid), with the file's texture positions over the
same box for a prior that reads them (texture_positions), so a tile is always
computed from the same input of the same shape, whichever box is asked for: a region decode gives
exactly the pixels of the full decode, and tiles meet without seams (the halo holds what the prior
sees of its neighbours at any weight that shows). `strength` blends the rendered (0) into the refined
(1) pixels: the fidelity/realism dial (decoding's `detail`).

Blocks stream in raster order; refined tiles stay cached while a later block can use them, so memory
follows the image width, as the renderer's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from tadmcodec_formats import LATENT_FACTOR, latent_size_of

from ..io.progress import Progress
from ..io.raster import Box
from .geometry import patch_windows
from .networks import DecodingNetworks
from .patch_renderer import PatchRenderer, blend_patch_values, raster_blocks

TILE = 512
HALO = 32


def texture_positions(stored: np.ndarray, texture_timesteps: tuple[float, float, int, int]) -> np.ndarray:
    """Per patch, where its stored timestep lies in the texture-timestep range: 0 (flat) to 1 (the most
    texture the encoder measures), flattened row-major."""
    _, _, t_low, t_high = texture_timesteps
    return np.clip((np.asarray(stored, np.float64).reshape(-1) - t_low) / (t_high - t_low), 0, 1)


def texture_map(stored: np.ndarray, size: tuple[int, int], config: Any) -> np.ndarray:
    """(h/8, w/8) texture positions over the whole latent grid of an image of size (height, width) that a
    model (its config) encoded, blended as decoding blends them (to train and probe a prior)."""
    scale = config.scale
    latent = latent_size_of(-(-size[1] // scale), -(-size[0] // scale), scale)
    windows = patch_windows(latent, config.patch_size, config.patch_overlap)
    values = texture_positions(stored, config.texture_timesteps)
    return blend_patch_values(values, windows, latent, config.patch_overlap, (0, 0, *latent))[0]


class TexturedRenderer:
    """Decodes boxes of one image: PatchRenderer's rendered pixels refined by the texture prior."""

    def __init__(
        self, renderer: PatchRenderer, networks: DecodingNetworks, strength: float, positions: np.ndarray | None = None
    ) -> None:
        """positions: texture_positions of the file's stored timesteps, for a prior that reads them."""
        self.renderer, self.networks, self.strength = renderer, networks, np.float32(strength)
        self.positions = positions
        self.size = (renderer.latent_size[0] * LATENT_FACTOR, renderer.latent_size[1] * LATENT_FACTOR)
        self._tiles: dict[tuple[int, int], np.ndarray] = {}

    def tiles_under(self, box: Box) -> list[tuple[int, int]]:
        """(row, column) of the tiles a box reaches into, in raster order."""
        x0, y0, x1, y1 = box
        return [(r, c) for r in range(y0 // TILE, -(-y1 // TILE)) for c in range(x0 // TILE, -(-x1 // TILE))]

    def source_box(self, tile: tuple[int, int]) -> Box:
        """The rendered box one tile is refined from: the tile grown by HALO, clipped to the image."""
        width, height = self.size
        top, left = tile[0] * TILE, tile[1] * TILE
        return (max(left - HALO, 0), max(top - HALO, 0), min(left + TILE + HALO, width), min(top + TILE + HALO, height))

    def work(self, box: Box) -> int:
        """Patch computations and tiles a decode of box needs: a progress total."""
        tiles = self.tiles_under(box)
        sources = [self.source_box(t) for t in tiles]
        grown = (
            min(s[0] for s in sources),
            min(s[1] for s in sources),
            max(s[2] for s in sources),
            max(s[3] for s in sources),
        )
        return self.renderer.work(grown) + len(tiles)

    def blocks(self, box: Box, size: int, progress: Progress | None = None) -> Iterator[tuple[Box, np.ndarray]]:
        """(block box, (3, h, w) float32 pixels in [-1, 1]) for size x size blocks covering box in raster
        order, streaming."""
        try:
            yield from raster_blocks(box, size, self._evict_above, lambda block: self.pixels(block, progress))
        finally:
            self._tiles.clear()
            self.renderer.clear()

    def _evict_above(self, top: int) -> None:
        for key in [k for k in self._tiles if (k[0] + 1) * TILE <= top]:
            del self._tiles[key]
        self.renderer.evict_above(max(top // TILE * TILE - HALO, 0))

    def trim(self, patches: int) -> None:
        """Bounded memory between region decodes: the renderer's trim, and as many refined tiles as a
        patch budget of that size covers (oldest first)."""
        tiles = max(1, patches // 16)
        for key in list(self._tiles)[: max(0, len(self._tiles) - tiles)]:
            del self._tiles[key]
        self.renderer.trim(patches)

    def pixels(self, box: Box, progress: Progress | None = None) -> np.ndarray:
        """(3, h, w) float32 pixels in [-1, 1] of any box, from cached refined tiles and those it lacks."""
        x0, y0, x1, y1 = box
        out = np.empty((3, y1 - y0, x1 - x0), np.float32)
        for tile in self.tiles_under(box):
            if tile not in self._tiles:
                self._tiles[tile] = self._refine(tile, progress)
            top, left = tile[0] * TILE, tile[1] * TILE
            pixels = self._tiles[tile]
            ty0, tx0 = max(y0, top), max(x0, left)
            ty1, tx1 = min(y1, top + pixels.shape[1]), min(x1, left + pixels.shape[2])
            out[:, ty0 - y0 : ty1 - y0, tx0 - x0 : tx1 - x0] = pixels[:, ty0 - top : ty1 - top, tx0 - left : tx1 - left]
        return out

    def _refine(self, tile: tuple[int, int], progress: Progress | None) -> np.ndarray:
        """One tile's refined pixels (3, h, w), h and w clipped to the image."""
        sx0, sy0, sx1, sy1 = self.source_box(tile)
        rendered = self.renderer.pixels((sx0, sy0, sx1, sy1), progress)
        texture = None
        if self.positions is not None:
            latent_box = (sx0 // LATENT_FACTOR, sy0 // LATENT_FACTOR, sx1 // LATENT_FACTOR, sy1 // LATENT_FACTOR)
            texture = self.renderer.blend_values(self.positions, latent_box)[None]
        refined = self.networks.refine(rendered[None], texture)[0]
        if self.strength != 1:
            refined = rendered + self.strength * (refined - rendered)
        width, height = self.size
        top, left = tile[0] * TILE, tile[1] * TILE
        inner = (
            slice(None),
            slice(top - sy0, min(top + TILE, height) - sy0),
            slice(left - sx0, min(left + TILE, width) - sx0),
        )
        if progress is not None:
            progress.update(1)
        return np.ascontiguousarray(refined[inner])
