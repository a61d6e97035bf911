"""The learned codec on arrays: RGB uint8 in, LR + patch grid out, and back, on a chosen device."""

from __future__ import annotations

import threading

import numpy as np
import torch

from tadmcodec_formats import PatchGrid

from .device import resolve_device
from .model_folder import LoadedModel, load_model_folder
from .models.dfrm import LATENT_FACTOR
from .pipeline.decode import Progress, TiledDecoder
from .pipeline.encode import TiledEncoder
from .pipeline.geometry import Box, LRSource
from .registry import resolve_model

_LOADED: dict[tuple[str, str], LoadedModel] = {}
_LOADING = threading.Lock()


class Codec:
    """One loaded model on one device."""

    def __init__(self, model: LoadedModel, device: str | torch.device | None = None, batch_size: int = 4) -> None:
        self.device = resolve_device(device)
        self.model = model.to(self.device)
        self.batch_size = batch_size

    @classmethod
    def load(cls, name: str, device: str | torch.device | None = None) -> Codec:
        """A codec for a registered model name or a model folder path (loaded once per process and device)."""
        resolved = resolve_device(device)
        key = (name, str(resolved))
        with _LOADING:
            if key not in _LOADED:
                _LOADED[key] = load_model_folder(resolve_model(name)).to(resolved)
        return cls(_LOADED[key], resolved)

    @property
    def scale(self) -> int:
        return self.model.tadm.config.scale

    def pad(self, rgb: np.ndarray) -> np.ndarray:
        """Pad right and bottom to a multiple of the scale by edge replication (the container's rule)."""
        height, width = rgb.shape[:2]
        s = self.scale
        return np.pad(rgb, ((0, -height % s), (0, -width % s), (0, 0)), mode="edge")

    def encode(self, rgb: np.ndarray, progress: Progress | None = None) -> tuple[np.ndarray, PatchGrid]:
        """(H, W, 3) uint8 to the quantized LR (ceil(H/s), ceil(W/s), 3) and the patch grid."""
        padded = torch.from_numpy(self.pad(rgb)).permute(2, 0, 1).float() / 127.5 - 1.0
        encoder = TiledEncoder(self.model, self.device, self.batch_size)
        lr = encoder.downscale(padded, progress)
        config = self.model.tadm.config
        return lr, PatchGrid(config.patch_size, config.patch_overlap, encoder.timesteps(lr, progress))

    def decode(self, source: LRSource, grid: PatchGrid, size: tuple[int, int], box: Box | None = None,
               progress: Progress | None = None) -> np.ndarray:  # fmt: skip
        """The (h, w, 3) uint8 pixels of box (default: the whole width x height image)."""
        step = self.scale // LATENT_FACTOR
        latent_size = (source.width * step, source.height * step)
        decoder = TiledDecoder(self.model, self.device, self.batch_size)
        box = box or (0, 0, *size)
        pixels = decoder.decode(source, latent_size, grid.patch_size, grid.overlap, grid.timesteps.reshape(-1),
                                box, progress)  # fmt: skip
        return ((pixels.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()
