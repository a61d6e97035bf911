"""The decoder side shared by encoder and decoder: LR crop -> rescaled latent patch z_hat.

The encoder runs it to choose the timesteps from the quantized LR, exactly as the decoder will.

Two definitions, fixed by the model's configuration (a file decodes as its model defines):
- per patch (latent_block 0, releases 1-5): each patch's z_hat from its own LR crop plus a halo of
  lr_halo LR pixels, in the patches' fixed batch. At 16x the crop is 4 times the patch's area and
  patches overlap, so about 7 times the image's area passes through G_d and the VAE encoder.
- per block (latent_block N): z_hat is computed once for each N x N block of a fixed global grid of the
  latent, from the block's LR crop plus the halo, one block at a time; a patch is cut from the blocks
  it covers. The work is about (1 + 2 h / N)^2 times the image's area (h the halo in latent pixels:
  1.56 at 16x, 2.25 at 32x for N = 128), and a patch's z_hat is a function of the grid alone, so a
  region decode still equals the same box of a full decode.
"""

from __future__ import annotations

import numpy as np
import torch

from tadmcodec_formats import LATENT_FACTOR

from ..models.algorithm import TADM
from ..pixels import lr_to_tensor
from ..raster import Box, Raster, crop_replicate
from .geometry import PatchWindow


class RescaledLatents:
    """z_hat of patch windows of one LR raster, by the model's definition (per patch or per block)."""

    def __init__(self, model: TADM, source: Raster, device: torch.device) -> None:
        self.model, self.source, self.device = model, source, device
        self.block = model.config.latent_block
        self._blocks: dict[tuple[int, int], torch.Tensor] = {}

    def __call__(self, windows: list[PatchWindow]) -> torch.Tensor:
        """z_hat for same-sized windows, (B, c, h, w)."""
        if not self.block:
            return self._compute([w.box for w in windows])
        x0, y0, x1, y1 = windows[0].box
        z_hat = torch.empty(len(windows), self.model.config.latent_channels, y1 - y0, x1 - x0, device=self.device)
        for out, window in zip(z_hat, windows, strict=True):
            self._cut(out, window.box)
        return z_hat

    def forget_above(self, row: int) -> None:
        """Drop the cached blocks that end at or above latent row `row` (recomputed if asked for again)."""
        for key in [key for key in self._blocks if (key[1] + 1) * self.block <= row]:
            del self._blocks[key]

    def clear(self) -> None:
        self._blocks.clear()

    def _cut(self, out: torch.Tensor, box: Box) -> None:
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

    def _block(self, bx: int, by: int) -> torch.Tensor:
        if (bx, by) not in self._blocks:
            size = self.block
            self._blocks[bx, by] = self._compute([(bx * size, by * size, (bx + 1) * size, (by + 1) * size)])[0]
        return self._blocks[bx, by]

    def _compute(self, boxes: list[Box]) -> torch.Tensor:
        """z_hat over same-sized latent boxes, (B, c, h, w): each from its LR crop plus the halo."""
        step = self.model.scale // LATENT_FACTOR
        halo = self.model.config.lr_halo
        crops = []
        for x0, y0, x1, y1 in boxes:
            box = (x0 // step - halo, y0 // step - halo, -(-x1 // step) + halo, -(-y1 // step) + halo)
            crops.append(crop_replicate(self.source, box)[:, :, :3])
        z_hat = self.model.rescaled_latent(lr_to_tensor(np.stack(crops), self.device))
        x0, y0, x1, y1 = boxes[0]
        offset = halo * step
        return z_hat[:, :, offset : offset + y1 - y0, offset : offset + x1 - x0]
