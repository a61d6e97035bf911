"""Noise keyed by absolute pixel position: the same value at the same pixel of an image however it is tiled.

A decoder that synthesises texture from noise must give overlapping tiles, region decodes and full
decodes the same texture at the same pixel, on every device and in every release of torch; a random
generator's stream does not. Each value is an integer hash of (x, y, channel): the low-bias
32-bit mixer of C. Wellons' hash prospector, in int64 arithmetic masked to 32 bits (exact on CPU and
GPU), mapped to uniform noise of zero mean and unit variance.
"""

from __future__ import annotations

import math

import torch

MASK = 0xFFFFFFFF


def _mix(h: torch.Tensor) -> torch.Tensor:
    h = h ^ (h >> 16)
    h = (h * 0x7FEB352D) & MASK
    h = h ^ (h >> 15)
    h = (h * 0x846CA68B) & MASK
    return h ^ (h >> 16)


def position_noise(
    channels: int, height: int, width: int, origin: tuple[int, int], device: torch.device | str = "cpu"
) -> torch.Tensor:
    """(channels, height, width) noise for the pixels whose top-left is origin (x, y); uniform with mean 0
    and variance 1."""
    x = torch.arange(origin[0], origin[0] + width, device=device, dtype=torch.int64)
    y = torch.arange(origin[1], origin[1] + height, device=device, dtype=torch.int64)
    c = torch.arange(channels, device=device, dtype=torch.int64)
    key = _mix(x[None, None, :] & MASK)
    key = _mix(key ^ (y[None, :, None] & MASK))
    key = _mix(key ^ c[:, None, None])
    uniform = (key >> 8).to(torch.float32) * (1.0 / (1 << 24)) + 0.5 / (1 << 24)
    return (uniform - 0.5) * math.sqrt(12.0)
