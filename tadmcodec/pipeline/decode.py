"""Tiled decoding: LR -> z_hat per patch -> one U-Net step at the patch's timestep -> hybrid scheduler
-> blended latent -> VAE decode per patch window -> blended pixels.

Every tile is computed from a fixed global window of fixed size, so a region decode gives exactly the
pixels of the same box of a full decode; memory is bounded by the region, not by the image.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ..device import autocast
from ..model_folder import LoadedModel
from ..models.dfrm import LATENT_FACTOR
from .geometry import Box, LRSource, PatchWindow, batched, intersects, patch_windows, union
from .latent_patches import rescaled_latents

Progress = Callable[[int], None]


class TiledDecoder:
    """Decodes boxes of an image from its LR source and per-patch timesteps."""

    def __init__(self, model: LoadedModel, device: torch.device, batch_size: int = 4) -> None:
        self.model = model
        self.device = device
        self.batch_size = batch_size

    @torch.no_grad()
    def denoise(self, source: LRSource, windows: list[PatchWindow], timesteps: np.ndarray) -> torch.Tensor:
        """z0 for same-sized windows: eps at each window's own timestep, then the hybrid scheduler."""
        z_hat = rescaled_latents(self.model, source, windows, self.device)
        t = torch.as_tensor(timesteps[[w.index for w in windows]], device=self.device, dtype=torch.long)
        with autocast(self.device):
            eps = self.model.backbone.predict_noise(z_hat, t)
        return self.model.tadm.scheduler(z_hat, eps.float(), t.float())

    @torch.no_grad()
    def decode(
        self,
        source: LRSource,
        latent_size: tuple[int, int],
        patch: int,
        overlap: int,
        timesteps: np.ndarray,
        box: Box,
        progress: Progress | None = None,
    ) -> torch.Tensor:
        """Pixels of `box` (padded-image coordinates) as a (3, h, w) float tensor in [-1, 1] (unclamped)."""
        windows = patch_windows(latent_size, patch, overlap)
        if timesteps.size != len(windows):
            raise ValueError(f"{timesteps.size} timesteps for {len(windows)} patches")
        scaled = [(w, tuple(v * LATENT_FACTOR for v in w.box)) for w in windows]
        decoded = [w for w, pixel_box in scaled if intersects(pixel_box, box)]
        latent_box = union([w.box for w in decoded])
        needed = [w for w in windows if intersects(w.box, latent_box)]
        latent = self._blend_latents(source, needed, latent_box, latent_size, overlap, timesteps, progress)
        return self._decode_pixels(latent, latent_box, decoded, latent_size, overlap, box, progress)

    def _blend_latents(self, source: LRSource, windows: list[PatchWindow], area: Box,
                       latent_size: tuple[int, int], overlap: int, timesteps: np.ndarray,
                       progress: Progress | None) -> torch.Tensor:  # fmt: skip
        channels = self.model.backbone.latent_channels
        total = torch.zeros(channels, area[3] - area[1], area[2] - area[0], dtype=torch.float64)
        weight = torch.zeros(area[3] - area[1], area[2] - area[0], dtype=torch.float64)
        for group in batched(windows, self.batch_size):
            for window, z0 in zip(group, self.denoise(source, group, timesteps).double().cpu(), strict=True):
                _accumulate(total, weight, z0, window.weights(latent_size, overlap), window.box, area)
            if progress:
                progress(len(group))
        return (total / weight).float()

    def _decode_pixels(self, latent: torch.Tensor, latent_box: Box, windows: list[PatchWindow],
                       latent_size: tuple[int, int], overlap: int, box: Box,
                       progress: Progress | None) -> torch.Tensor:  # fmt: skip
        total = torch.zeros(3, box[3] - box[1], box[2] - box[0], dtype=torch.float64)
        weight = torch.zeros(box[3] - box[1], box[2] - box[0], dtype=torch.float64)
        for group in batched(windows, self.batch_size):
            crops = []
            for window in group:
                x0, y0, x1, y1 = window.box
                crops.append(
                    latent[:, y0 - latent_box[1] : y1 - latent_box[1], x0 - latent_box[0] : x1 - latent_box[0]]
                )
            with autocast(self.device):
                pixels = self.model.backbone.decode(torch.stack(crops).to(self.device))
            for window, image in zip(group, pixels.double().cpu(), strict=True):
                pixel_box = tuple(v * LATENT_FACTOR for v in window.box)
                weights = window.weights(latent_size, overlap, LATENT_FACTOR)
                _accumulate(total, weight, image, weights, pixel_box, box)
            if progress:
                progress(len(group))
        return (total / weight).float()


def _accumulate(total: torch.Tensor, weight: torch.Tensor, tile: torch.Tensor, tile_weight: torch.Tensor,
                tile_box: Box, area: Box) -> None:  # fmt: skip
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
