"""Pixel-range conversions between stored 8-bit arrays and the model's float tensors, in one place.

Images enter the VAE in [-1, 1]; LR images (the stored thumbnail) live in [0, 1]. Rounding is to
nearest, so an LR image converted to float and back is unchanged.
"""

from __future__ import annotations

import numpy as np
import torch


def images_to_tensor(pixels: np.ndarray) -> torch.Tensor:
    """(B, H, W, 3) uint8 to (B, 3, H, W) float in [-1, 1]."""
    return torch.from_numpy(np.ascontiguousarray(pixels)).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def lr_to_tensor(pixels: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """(B, h, w, 3) uint8 LR crops to (B, 3, h, w) float in [0, 1] on `device`."""
    return torch.from_numpy(pixels).to(device).permute(0, 3, 1, 2).float() / 255.0


def quantize_lr(y: torch.Tensor) -> torch.Tensor:
    """Round an LR in [0, 1] to 8 bits; the straight-through estimator passes gradients unchanged."""
    clamped = y.clamp(0.0, 1.0)
    return clamped + (torch.round(clamped * 255.0) / 255.0 - clamped).detach()


def lr_to_uint8(y: torch.Tensor) -> torch.Tensor:
    """(B, 3, h, w) LR in [0, 1] to (B, h, w, 3) uint8, rounding as quantize_lr does."""
    return torch.round(y.clamp(0.0, 1.0) * 255.0).to(torch.uint8).permute(0, 2, 3, 1)


def unit_range(x: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] to [0, 1] (clamped): what the metrics take."""
    return ((x + 1) / 2).clamp(0, 1)
