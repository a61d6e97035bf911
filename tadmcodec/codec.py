"""The learned codec on arrays in torch: RGB uint8 in, LR + patch grid out, and back, on a chosen device
(decoding on either runtime without torch: tadmcodec.decoding)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import torch

from tadmcodec_formats import PatchGrid

from .cpu_threads import cpu_threads
from .device import resolve_device
from .model_folder import load_model_folder
from .models.algorithm import TADM
from .pipeline.decode import TiledDecoder
from .pipeline.encode import TiledEncoder
from .pipeline.model_decoder import ModelDecoder
from .progress import Progress
from .raster import ArrayRaster, Box, Raster
from .registry import resolve_model
from .torch_networks import TorchNetworks

_LOADED: dict[tuple[str, str], TADM] = {}
_LOADING = threading.Lock()


class Codec:
    """One loaded model on one device."""

    def __init__(self, model: TADM, device: str | torch.device | None = None, batch_size: int = 4) -> None:
        self.device = resolve_device(device)
        self.model = model.to(self.device)
        self.batch_size = batch_size
        self.decoding = ModelDecoder(TorchNetworks(self.model, self.device), batch_size)

    @classmethod
    def load(cls, name: str, device: str | torch.device | None = None, allow_path: bool = False) -> Codec:
        """A codec for an installed model name, or with allow_path (a model the user names, never one a
        file names) a model folder path; loaded once per process and device, LoRA merged."""
        resolved = resolve_device(device)
        if cpu_threads():
            torch.set_num_threads(cpu_threads())
        folder = resolve_model(name, allow_path)
        key = (str(folder.resolve()), str(resolved))
        with _LOADING:
            if key not in _LOADED:
                _LOADED[key] = load_model_folder(folder).for_inference().to(resolved)
        return cls(_LOADED[key], resolved)

    @property
    def scale(self) -> int:
        return self.model.scale

    def encode(self, rgb: np.ndarray | Raster, progress: Progress | None = None) -> tuple[np.ndarray, PatchGrid]:
        """(H, W, 3) uint8 pixels (an array or a Raster read tile by tile) to the quantized LR
        (ceil(H/s), ceil(W/s), 3) and the patch grid."""
        image = ArrayRaster(rgb) if isinstance(rgb, np.ndarray) else rgb
        encoder = TiledEncoder(self.model, self.device, self.batch_size)
        if progress is not None:
            progress.reset(encoder.work(image.width, image.height))
        lr, texture = encoder.downscale(image, progress)
        config = self.model.config
        steps = encoder.timesteps(lr, progress, texture=texture)
        return lr, PatchGrid(config.patch_size, config.patch_overlap, steps)

    def decoder(
        self, source: Raster, grid: PatchGrid, detail: float | None = None, texture: np.ndarray | None = None
    ) -> TiledDecoder:
        """ModelDecoder.decoder, in torch on this codec's device."""
        return self.decoding.decoder(source, grid, detail, texture)

    def decode(
        self,
        source: Raster,
        grid: PatchGrid,
        size: tuple[int, int],
        box: Box | None = None,
        progress: Progress | None = None,
        detail: float | None = None,
        texture: np.ndarray | None = None,
    ) -> np.ndarray:
        """ModelDecoder.decode, in torch on this codec's device."""
        return self.decoding.decode(source, grid, size, box, progress, detail, texture)

    def decode_blocks(
        self,
        source: Raster,
        grid: PatchGrid,
        box: Box,
        block: int,
        progress: Progress | None = None,
        detail: float | None = None,
        texture: np.ndarray | None = None,
    ) -> Iterator[tuple[Box, np.ndarray]]:
        """ModelDecoder.decode_blocks, in torch on this codec's device."""
        return self.decoding.decode_blocks(source, grid, box, block, progress, detail, texture)
