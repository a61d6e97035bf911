"""The decode-side networks of a loaded TADM model in torch, on any device (the pipeline's
DecodingNetworks): NumPy in and out, converted at the boundary exactly as the pipeline always did."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..models.algorithm import TADM
from ..nn.pixels import lr_to_tensor


class TorchNetworks:
    """DecodingNetworks of a TADM model on a device."""

    def __init__(self, model: TADM, device: torch.device) -> None:
        self.model, self.device = model, device
        self.name, self.digest = model.name, model.digest

    @property
    def config(self) -> Any:
        return self.model.config

    @property
    def scale(self) -> int:
        return self.model.scale

    @property
    def synthesises_detail(self) -> bool:
        return self.model.synthesises_detail

    @property
    def has_texture_prior(self) -> bool:
        return self.model.texture_prior is not None

    @property
    def reads_texture(self) -> bool:
        return self.has_texture_prior and self.model.texture_prior.texture_input

    @torch.no_grad()
    def rescaled_latent(self, lr: np.ndarray) -> np.ndarray:
        return self.model.rescaled_latent(lr_to_tensor(lr, self.device)).cpu().numpy()

    @torch.no_grad()
    def denoise(self, z_hat: np.ndarray, t: np.ndarray) -> np.ndarray:
        z_hat_tensor = torch.from_numpy(z_hat).to(self.device)
        return self.model.denoise(z_hat_tensor, torch.from_numpy(t).to(self.device)).cpu().numpy()

    @torch.no_grad()
    def render(
        self, latents: np.ndarray, detail: np.ndarray | None = None, origins: list[tuple[int, int]] | None = None
    ) -> np.ndarray:
        """Channels-last latents: about 1.4x faster VAE decoding on the CPU, within float32 rounding of
        the contiguous form."""
        latent = torch.from_numpy(latents).to(self.device).contiguous(memory_format=torch.channels_last)
        if detail is None:
            return self.model.render(latent).cpu().numpy()
        return self.model.render(latent, torch.from_numpy(detail).to(self.device), origins).cpu().numpy()

    @torch.no_grad()
    def refine(self, pixels: np.ndarray, texture: np.ndarray | None = None) -> np.ndarray:
        texture_tensor = None if texture is None else torch.from_numpy(texture).to(self.device)
        return self.model.refine(torch.from_numpy(pixels).to(self.device), texture_tensor).cpu().numpy()
