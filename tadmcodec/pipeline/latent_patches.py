"""The decoder side shared by encoder and decoder: LR crop -> rescaled latent patch z_hat.

The encoder runs it to choose the timesteps from the quantized LR, exactly as the decoder will.
"""

from __future__ import annotations

import numpy as np
import torch

from tadmcodec_formats import LATENT_FACTOR

from ..models.algorithm import TADM
from ..pixels import lr_to_tensor
from ..raster import Raster, crop_replicate
from .geometry import PatchWindow


def rescaled_latents(model: TADM, source: Raster, windows: list[PatchWindow], device: torch.device) -> torch.Tensor:
    """z_hat for same-sized windows, (B, c, h, w): each from its LR crop plus a halo of context."""
    step = model.scale // LATENT_FACTOR
    halo = model.config.lr_halo
    crops = []
    for window in windows:
        x0, y0, x1, y1 = window.box
        box = (x0 // step - halo, y0 // step - halo, -(-x1 // step) + halo, -(-y1 // step) + halo)
        crops.append(crop_replicate(source, box)[:, :, :3])
    z_hat = model.rescaled_latent(lr_to_tensor(np.stack(crops), device))
    x0, y0, x1, y1 = windows[0].box
    offset = halo * step
    return z_hat[:, :, offset : offset + y1 - y0, offset : offset + x1 - x0]
