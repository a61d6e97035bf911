"""The decoder side shared by encoder and decoder: LR crop -> rescaled latent patch z_hat.

The encoder runs it to choose the timesteps from the quantized LR, exactly as the decoder will.

Two definitions, fixed by the model's configuration (a file decodes as its model defines):
- per patch (latent_block 0, releases 1-5): each patch's z_hat from its own LR crop plus a halo of
  lr_halo LR pixels, in the patches' fixed batch. At 16x the crop is 4 times the patch's area and
  patches overlap, so about 7 times the image's area passes through G_d and the VAE encoder.
- per block (latent_block N): z_hat is computed once for each N x N block of a fixed global grid of the
  latent, clipped to the patch grid's extent (the latent, or one patch when the latent is smaller), from
  the block's LR crop plus the halo, one block at a time; a patch is cut from the blocks it covers. The
  work is about (1 + 2 h / N)^2 times the image's area (h the halo in latent pixels: 1.56 at 16x, 2.25
  at 32x for N = 128), and a patch's z_hat is a function of the grid and the image size alone, so a
  region decode still equals the same box of a full decode. Clipping spares a small image the work of
  a whole block (256 x 192 pixels at 16x: a 32 x 32 latent block instead of 128 x 128); the values
  inside differ from an unclipped block's by float rounding where the halo covers the networks'
  receptive field (release 6's reference files: 16x identical, 32x 2.7e-5 of the values by one level).
"""

from __future__ import annotations

import numpy as np

from tadmcodec_formats import LATENT_FACTOR, latent_size_of

from ..io.raster import Box, Raster, crop_replicate
from .geometry import PatchWindow
from .networks import DecodingNetworks


class RescaledLatents:
    """z_hat of patch windows of one LR raster, by the model's definition (per patch or per block)."""

    def __init__(self, networks: DecodingNetworks, source: Raster) -> None:
        self.networks, self.source = networks, source
        self.block = networks.config.latent_block
        width, height = latent_size_of(source.width, source.height, networks.scale)
        patch = networks.config.patch_size
        self.extent = (max(width, patch), max(height, patch))  # where patch windows reach
        self._blocks: dict[tuple[int, int], np.ndarray] = {}

    def __call__(self, windows: list[PatchWindow]) -> np.ndarray:
        """z_hat for same-sized windows, (B, c, h, w) float32."""
        if not self.block:
            return self._compute([w.box for w in windows])
        x0, y0, x1, y1 = windows[0].box
        z_hat = np.empty((len(windows), self.networks.config.latent_channels, y1 - y0, x1 - x0), np.float32)
        for out, window in zip(z_hat, windows, strict=True):
            self._cut(out, window.box)
        return z_hat

    def forget_above(self, row: int) -> None:
        """Drop the cached blocks that end at or above latent row `row` (recomputed if asked for again)."""
        for key in [key for key in self._blocks if (key[1] + 1) * self.block <= row]:
            del self._blocks[key]

    def clear(self) -> None:
        self._blocks.clear()

    def trim(self, blocks: int) -> None:
        """Keep the `blocks` most recently computed latent blocks."""
        for key in list(self._blocks)[: max(0, len(self._blocks) - blocks)]:
            del self._blocks[key]

    def _cut(self, out: np.ndarray, box: Box) -> None:
        """Fill out (c, h, w) with the z_hat over a latent box from the blocks it covers."""
        x0, y0, x1, y1 = box
        size = self.block
        for by in range(y0 // size, (y1 - 1) // size + 1):
            for bx in range(x0 // size, (x1 - 1) // size + 1):
                block = self._block(bx, by)
                ix0, iy0 = max(x0, bx * size), max(y0, by * size)
                ix1, iy1 = min(x1, (bx + 1) * size), min(y1, (by + 1) * size)
                out[:, iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0] = block[
                    :, iy0 - by * size : iy1 - by * size, ix0 - bx * size : ix1 - bx * size
                ]

    def _block(self, bx: int, by: int) -> np.ndarray:
        if (bx, by) not in self._blocks:
            size, (right, bottom) = self.block, self.extent
            box = (bx * size, by * size, min((bx + 1) * size, right), min((by + 1) * size, bottom))
            self._blocks[bx, by] = self._compute([box])[0]
        return self._blocks[bx, by]

    def _compute(self, boxes: list[Box]) -> np.ndarray:
        """z_hat over same-sized latent boxes, (B, c, h, w): each from its LR crop plus the halo."""
        step = self.networks.scale // LATENT_FACTOR
        halo = self.networks.config.lr_halo
        crops = []
        for x0, y0, x1, y1 in boxes:
            box = (x0 // step - halo, y0 // step - halo, -(-x1 // step) + halo, -(-y1 // step) + halo)
            crops.append(crop_replicate(self.source, box)[:, :, :3])
        z_hat = self.networks.rescaled_latent(np.stack(crops))
        x0, y0, x1, y1 = boxes[0]
        offset = halo * step
        return z_hat[:, :, offset : offset + y1 - y0, offset : offset + x1 - x0]
