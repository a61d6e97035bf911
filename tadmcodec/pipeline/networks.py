"""What the tiled pipeline needs of a model: its geometry and three network calls on NumPy arrays.

The pipeline (tiles, blocks, blending, caches) is the same for every runtime; a runtime implements
these calls: torch (tadmcodec.runtime.torch_networks, any device, also used to train) or ONNX Runtime
(tadmcodec.runtime.onnx_networks: CPU decoding without importing torch).
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np


class DecodingNetworks(Protocol):
    """One loaded model's decode-side networks; arrays in and out are NumPy, float32 unless stated."""

    name: str
    digest: bytes
    config: Any  # the model's configuration (TADMModel's keys as attributes)

    @property
    def scale(self) -> int: ...

    @property
    def synthesises_detail(self) -> bool:
        """Whether render() can add texture of a requested detail energy."""
        ...

    @property
    def has_texture_prior(self) -> bool:
        """Whether refine() exists: the model ends its decode with a texture prior."""
        ...

    @property
    def reads_texture(self) -> bool:
        """Whether refine() takes the file's texture positions (a prior with a texture input)."""
        ...

    def rescaled_latent(self, lr: np.ndarray) -> np.ndarray:
        """z_hat (B, c, h s/8, w s/8), the latent over the crops' area, from LR crops (B, h, w, 3) uint8."""
        ...

    def denoise(self, z_hat: np.ndarray, t: np.ndarray) -> np.ndarray:
        """z0 (B, c, h, w) from z_hat and the patches' integer timesteps t (B,) int64."""
        ...

    def render(
        self, latents: np.ndarray, detail: np.ndarray | None = None, origins: list[tuple[int, int]] | None = None
    ) -> np.ndarray:
        """Pixels (B, 3, 8h, 8w) in [-1, 1] (not clamped) from latents; `detail` (B, 1, h, w) float32 the
        detail energy to synthesise and `origins` each latent's top-left pixel (detail models only)."""
        ...

    def refine(self, pixels: np.ndarray, texture: np.ndarray | None = None) -> np.ndarray:
        """The texture prior's pixels (B, 3, H, W) in [-1, 1] (not clamped) from rendered pixels of that
        shape, H and W multiples of 8, and (reads_texture) the texture positions (B, 1, H/8, W/8)."""
        ...


def to_uint8_images(pixels: np.ndarray) -> np.ndarray:
    """(B, 3, H, W) float32 in [-1, 1] (clamped) to (B, H, W, 3) uint8, rounding half to even: the
    inverse of tadmcodec.nn.pixels.images_to_tensor, for decoded pixels of either runtime."""
    scaled = (np.clip(pixels, -1, 1) + np.float32(1)) * np.float32(127.5)
    return np.round(scaled).astype(np.uint8).transpose(0, 2, 3, 1)
