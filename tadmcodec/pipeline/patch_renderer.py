"""Tiled decoding: LR -> z_hat per patch -> one U-Net step at the patch's timestep -> hybrid scheduler
-> blended latent -> VAE decode per patch window -> blended pixels. With a detail-synthesising VAE the
decode of each window also gets the detail energy to synthesise per latent pixel, blended from the
patches' requested energies as the latents are.

Every patch is computed from a fixed global window of fixed size, in a fixed global batch (batch_size
consecutive patch indices: batched kernels round differently for different batch contents), its
rescaled latent z_hat per patch or per fixed latent block (the model's latent_block), and every
pixel is blended from the same patches in the same order, so a region decode gives exactly the pixels
of the same box of a full decode. Blocks stream in raster order; patches stay cached only while a
later block can still use them, so memory follows the image width, never its area.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np

from tadmcodec_formats import LATENT_FACTOR, latent_size_of, patch_starts

from ..io.progress import Progress
from ..io.raster import Box, Raster
from .geometry import PatchWindow, patch_windows
from .heap import trim_heap
from .latent_patches import RescaledLatents
from .networks import DecodingNetworks


class PatchRenderer:
    """Decodes boxes of one image from its LR raster and per-patch timesteps."""

    def __init__(
        self,
        networks: DecodingNetworks,
        source: Raster,
        patch: int,
        overlap: int,
        timesteps: np.ndarray,
        batch_size: int = 4,
        detail: np.ndarray | None = None,
    ) -> None:
        """detail: the detail energy to synthesise per patch (None: none; needs a detail-synthesising VAE)."""
        self.networks, self.source, self.batch_size = networks, source, batch_size
        self.patch, self.overlap = patch, overlap
        self.latent_size = latent_size_of(source.width, source.height, networks.scale)
        self.windows = patch_windows(self.latent_size, patch, overlap)
        self._starts = (
            np.asarray(patch_starts(self.latent_size[0], patch, overlap)),
            np.asarray(patch_starts(self.latent_size[1], patch, overlap)),
        )
        if timesteps.size != len(self.windows):
            raise ValueError(f"{timesteps.size} timesteps for {len(self.windows)} patches")
        self.timesteps = timesteps.reshape(-1)
        self.detail = None if detail is None else detail.reshape(-1).astype(np.float64)
        if self.detail is not None and self.detail.size != len(self.windows):
            raise ValueError(f"{self.detail.size} detail energies for {len(self.windows)} patches")
        self._z_hat = RescaledLatents(networks, source)
        self._latents: dict[int, np.ndarray] = {}
        self._pixels: dict[int, np.ndarray] = {}

    def windows_in(self, latent_box: Box) -> list[PatchWindow]:
        """The windows overlapping a latent box, in index order (grid arithmetic, not a scan)."""
        x0, y0, x1, y1 = latent_box
        xs, ys = self._starts
        columns = range(np.searchsorted(xs, x0 - self.patch, "right"), np.searchsorted(xs, x1, "left"))
        rows = range(np.searchsorted(ys, y0 - self.patch, "right"), np.searchsorted(ys, y1, "left"))
        return [self.windows[r * len(xs) + c] for r in rows for c in columns]

    def windows_under(self, box: Box) -> list[PatchWindow]:
        """The windows whose pixels reach into a pixel box."""
        x0, y0, x1, y1 = box
        return self.windows_in(
            (x0 // LATENT_FACTOR, y0 // LATENT_FACTOR, -(-x1 // LATENT_FACTOR), -(-y1 // LATENT_FACTOR))
        )

    def groups(self, windows: list[PatchWindow]) -> list[list[PatchWindow]]:
        """The fixed batches (batch_size consecutive indices) that hold the given windows."""
        first = sorted({w.index // self.batch_size * self.batch_size for w in windows})
        return [self.windows[start : start + self.batch_size] for start in first]

    def work(self, box: Box) -> int:
        """Patch computations (U-Net steps plus VAE decodes) a decode of box needs: a progress total."""
        decoded = [w for group in self.groups(self.windows_under(box)) for w in group]
        needed = self.groups([v for w in decoded for v in self.windows_in(w.box)])
        return sum(map(len, needed)) + len(decoded)

    def blocks(self, box: Box, size: int, progress: Progress | None = None) -> Iterator[tuple[Box, np.ndarray]]:
        """(block box, (3, h, w) float32 pixels in [-1, 1]) for size x size blocks covering box in raster
        order, streaming."""
        try:
            yield from raster_blocks(box, size, self.evict_above, lambda block: self.pixels(block, progress))
        finally:
            self.clear()

    def clear(self) -> None:
        """Forget every cached patch."""
        self._z_hat.clear()
        self._latents.clear()
        self._pixels.clear()

    def trim(self, patches: int) -> None:
        """Keep at most `patches` decoded and denoised patches and as many latent blocks' worth of z_hat,
        forgetting the oldest first: bounded memory for a renderer kept between region decodes (a
        forgotten patch is recomputed, to the same values, if asked for again)."""
        for cache in (self._pixels, self._latents):
            for index in list(cache)[: max(0, len(cache) - patches)]:
                del cache[index]
        self._z_hat.trim(max(1, patches // 16))

    def evict_above(self, top: int) -> None:
        """Forget patches no box starting at pixel row `top` or below can use (boxes come in raster order)."""
        bottom = top // LATENT_FACTOR
        for index in [i for i in self._pixels if self.windows[i].box[3] <= bottom]:
            del self._pixels[index]
        for index in [i for i in self._latents if self.windows[i].box[3] + self.patch <= bottom]:
            del self._latents[index]
        self._z_hat.forget_above(bottom - 2 * self.patch)  # no patch a later block denoises starts higher

    def pixels(self, box: Box, progress: Progress | None = None) -> np.ndarray:
        """(3, h, w) float32 pixels in [-1, 1] of any box, from cached patches and those it lacks."""
        windows = self.windows_under(box)
        self._decode_windows([w for w in windows if w.index not in self._pixels], progress)
        parts = (
            (
                self._pixels[w.index],
                w.weights(self.latent_size, self.overlap, LATENT_FACTOR),
                tuple(v * LATENT_FACTOR for v in w.box),
            )
            for w in windows
        )
        return _blend(parts, 3, box)

    def _decode_windows(self, windows: list[PatchWindow], progress: Progress | None) -> None:
        """VAE-decode each window's blended latent into the pixel cache."""
        groups = self.groups(windows)
        neighbours = [v for group in groups for w in group for v in self.windows_in(w.box)]
        self._denoise([v for v in neighbours if v.index not in self._latents], progress)
        for group in groups:
            latents = np.stack([self._blend_latent(w) for w in group])
            if self.detail is not None:
                detail = np.stack([self.blend_values(self.detail, w.box) for w in group])
                origins = [(w.box[0] * LATENT_FACTOR, w.box[1] * LATENT_FACTOR) for w in group]
                pixels = self.networks.render(latents, detail, origins)
            else:
                pixels = self.networks.render(latents)
            for window, image in zip(group, pixels, strict=True):
                self._pixels[window.index] = image
            if progress is not None:
                progress.update(len(group))

    def _blend_latent(self, window: PatchWindow) -> np.ndarray:
        """The blended latent over one window's box, from every cached patch overlapping it."""
        parts = (
            (self._latents[o.index], o.weights(self.latent_size, self.overlap), o.box)
            for o in self.windows_in(window.box)
        )
        return _blend(parts, self.networks.config.latent_channels, window.box)

    def blend_values(self, values: np.ndarray, latent_box: Box) -> np.ndarray:
        """(1, h, w) float32 map of one value per patch over a latent box, blended as the latents are (a
        smooth map, the same at a latent pixel whichever box asks)."""
        return blend_patch_values(values, self.windows_in(latent_box), self.latent_size, self.overlap, latent_box)

    def _denoise(self, windows: list[PatchWindow], progress: Progress | None) -> None:
        """z0 per window into the latent cache: eps at the window's own timestep, then the hybrid scheduler."""
        for group in self.groups(windows):
            z_hat = self._z_hat(group)
            t = self.timesteps[[w.index for w in group]].astype(np.int64)
            for window, latent in zip(group, self.networks.denoise(z_hat, t), strict=True):
                self._latents[window.index] = latent
            if progress is not None:
                progress.update(len(group))


def raster_blocks(
    box: Box, size: int, evict_above: Callable[[int], None], pixels: Callable[[Box], np.ndarray]
) -> Iterator[tuple[Box, np.ndarray]]:
    """(block, pixels(block)) for size x size blocks of box in raster order, calling evict_above(top)
    before each row of blocks so a streaming decoder forgets what no later block needs."""
    x0, y0, x1, y1 = box
    for top in range(y0, y1, size):
        evict_above(top)
        for left in range(x0, x1, size):
            block = (left, top, min(left + size, x1), min(top + size, y1))
            yield block, pixels(block)
            trim_heap()


def blend_patch_values(
    values: np.ndarray, windows: list[PatchWindow], latent_size: tuple[int, int], overlap: int, latent_box: Box
) -> np.ndarray:
    """(1, h, w) float32: the windows' values (indexed by window index) blended over latent_box."""
    weighted = [(w, w.weights(latent_size, overlap)) for w in windows]
    return _blend(((np.full((1, *m.shape), values[w.index]), m, w.box) for w, m in weighted), 1, latent_box)


def _blend(parts: Iterable[tuple[np.ndarray, np.ndarray, Box]], channels: int, area: Box) -> np.ndarray:
    """Weighted float32 mean over area of overlapping (tile, weights, tile box) parts, summed in float64
    in order."""
    total = np.zeros((channels, area[3] - area[1], area[2] - area[0]))
    weight = np.zeros((area[3] - area[1], area[2] - area[0]))
    for tile, tile_weight, tile_box in parts:
        _accumulate(total, weight, tile, tile_weight, tile_box, area)
    return (total / weight).astype(np.float32)


def _accumulate(
    total: np.ndarray, weight: np.ndarray, tile: np.ndarray, tile_weight: np.ndarray, tile_box: Box, area: Box
) -> None:
    """Add tile * weights over the intersection of tile_box and area into the running sums."""
    x0, y0 = max(tile_box[0], area[0]), max(tile_box[1], area[1])
    x1, y1 = min(tile_box[2], area[2]), min(tile_box[3], area[3])
    if x0 >= x1 or y0 >= y1:
        return
    tile_part = (slice(y0 - tile_box[1], y1 - tile_box[1]), slice(x0 - tile_box[0], x1 - tile_box[0]))
    area_part = (slice(y0 - area[1], y1 - area[1]), slice(x0 - area[0], x1 - area[0]))
    w = tile_weight[tile_part]
    total[(slice(None), *area_part)] += tile[(slice(None), *tile_part)] * w
    weight[area_part] += w
