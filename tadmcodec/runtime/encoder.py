"""Tiled encoding: image -> (VAE latent, DFRM encoder, invertible map) per fixed tile -> quantized LR;
then one timestep per latent patch: predicted from the quantized LR exactly as the decoder sees it, or,
for models with texture timesteps, set from the original's texture measured in the same tiles.

The image is read tile by tile from a Raster, so only one tile plus its halo is ever held in float.
"""

from __future__ import annotations

import numpy as np
import torch

from tadmcodec_formats import LATENT_FACTOR

from ..io.progress import Progress
from ..io.raster import ArrayRaster, Raster, crop_replicate
from ..models.algorithm import TADM
from ..nn.pixels import images_to_tensor, lr_to_uint8
from ..pipeline.geometry import PatchWindow, batched, lr_patch_windows
from ..pipeline.heap import trim_heap
from ..pipeline.latent_patches import RescaledLatents
from .torch_networks import TorchNetworks


class TiledEncoder:
    """Encodes an RGB Raster; the image is edge-padded to a multiple of the scale (the container's rule)."""

    def __init__(self, model: TADM, device: torch.device, batch_size: int = 4) -> None:
        self.model = model
        self.device = device
        self.batch_size = batch_size

    def tiles(self, width: int, height: int) -> list[tuple[int, int, int, int]]:
        """Non-overlapping encode tiles (pixel boxes) covering the padded image."""
        size = self.model.config.encode_tile
        return [
            (x, y, min(x + size, width), min(y + size, height))
            for y in range(0, height, size)
            for x in range(0, width, size)
        ]

    def work(self, width: int, height: int) -> int:
        """Tiles plus timestep patches an encode of a width x height image computes: a progress total. Only
        predicted timesteps count (a network call per patch); timesteps from texture are a mean each, so
        counting them would hold the bar back through the tiles and then jump."""
        config, scale = self.model.config, self.model.scale
        lr_size = (-(-width // scale), -(-height // scale))
        tiles = len(self.tiles(lr_size[0] * scale, lr_size[1] * scale))
        if self.model.timesteps_from_texture:
            return tiles
        return tiles + len(lr_patch_windows(lr_size, scale, config.patch_size, config.patch_overlap))

    @torch.no_grad()
    def downscale(self, image: Raster, progress: Progress | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """The quantized LR image, (ceil(H/s), ceil(W/s), 3) uint8, and for models with texture timesteps
        the original's texture per LR pixel (same height and width, float32; else None)."""
        scale, halo = self.model.scale, self.model.config.encode_halo
        height, width = -(-image.height // scale) * scale, -(-image.width // scale) * scale
        lr = np.empty((height // scale, width // scale, 3), np.uint8)
        texture = np.empty(lr.shape[:2], np.float32) if self.model.timesteps_from_texture else None
        for x0, y0, x1, y1 in self.tiles(width, height):
            pixels = crop_replicate(image, (x0 - halo, y0 - halo, x1 + halo, y1 + halo))
            x = images_to_tensor(pixels[None]).to(self.device)
            _, y = self.model.downscale(x)
            inner = (slice(halo // scale, (halo + y1 - y0) // scale), slice(halo // scale, (halo + x1 - x0) // scale))
            target = (slice(y0 // scale, y1 // scale), slice(x0 // scale, x1 // scale))
            lr[target] = lr_to_uint8(y)[0][inner].cpu().numpy()
            if texture is not None:
                texture[target] = self.model.texture(x)[0][inner].cpu().numpy()
            trim_heap()
            if progress is not None:
                progress.update(1)
        return lr, texture

    @torch.no_grad()
    def timesteps(
        self, lr: np.ndarray, progress: Progress | None = None, *, texture: np.ndarray | None = None
    ) -> np.ndarray:
        """(rows, cols) integer timesteps, one per latent patch: from the original's texture per LR pixel
        when given, else predicted from the quantized LR."""
        config = self.model.config
        lr_size = (lr.shape[1], lr.shape[0])
        windows = lr_patch_windows(lr_size, self.model.scale, config.patch_size, config.patch_overlap)
        steps = np.empty(len(windows), np.int64)
        z_hat = RescaledLatents(TorchNetworks(self.model, self.device), ArrayRaster(lr))
        for group in batched(windows, self.batch_size):
            if texture is None:
                z_hat.forget_above(group[0].box[1])  # windows come in raster order
                patches = torch.from_numpy(z_hat(group)).to(self.device)
                steps[[w.index for w in group]] = self.model.stored_timesteps(patches).cpu().numpy()
                if progress is not None:
                    progress.update(len(group))
            else:
                steps[[w.index for w in group]] = self.from_texture(texture, group)
        rows = len({w.box[1] for w in windows})
        return steps.reshape(rows, -1)

    def from_texture(self, texture: np.ndarray, windows: list[PatchWindow]) -> np.ndarray:
        return self.model.texture_timesteps(torch.from_numpy(window_means(texture, windows, self.model.scale))).numpy()


def window_means(texture: np.ndarray, windows: list[PatchWindow], scale: int) -> np.ndarray:
    """Each patch window's mean (float64) of a per-LR-pixel map such as the original's texture."""
    step = scale // LATENT_FACTOR
    return np.array(
        [
            texture[y0 // step : y1 // step, x0 // step : x1 // step].astype(np.float64).mean()
            for x0, y0, x1, y1 in (w.box for w in windows)
        ]
    )
