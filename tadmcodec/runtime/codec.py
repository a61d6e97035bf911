"""The learned codec on arrays in torch: RGB uint8 in, LR + patch grid out, and back, on a chosen device
(decoding on either runtime without torch: tadmcodec.runtime.decoders)."""

from __future__ import annotations

import threading

import numpy as np
import torch

from tadmcodec_formats import PatchGrid

from ..io.progress import Progress
from ..io.raster import ArrayRaster, Raster
from ..models.algorithm import TADM
from ..pipeline.image_decoder import ImageDecoder
from ..store.registry import resolve_model
from .cpu_threads import cpu_threads
from .device import resolve_device
from .encoder import TiledEncoder
from .model_loader import load_model_folder
from .torch_networks import TorchNetworks

_LOADED: dict[tuple[str, str], TADM] = {}
_LOADING = threading.Lock()


class Codec:
    """One loaded model on one device."""

    def __init__(self, model: TADM, device: str | torch.device | None = None, batch_size: int = 4) -> None:
        self.device = resolve_device(device)
        self.model = model.to(self.device)
        self.batch_size = batch_size
        self.decoder = ImageDecoder(TorchNetworks(self.model, self.device), batch_size)

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
