"""Normalisation-free convolution blocks: outputs depend only on a local window, so tiles agree."""

from __future__ import annotations

import torch
from torch import nn


class ResBlock(nn.Module):
    """conv-SiLU-conv with a residual connection."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.act(self.conv1(self.act(x))))


def downsample(channels: int) -> nn.Module:
    """Halve the resolution with a strided convolution."""
    return nn.Conv2d(channels, channels, 3, stride=2, padding=1)


def upsample(channels: int) -> nn.Module:
    """Double the resolution with a convolution and pixel shuffle."""
    return nn.Sequential(nn.Conv2d(channels, channels * 4, 3, padding=1), nn.PixelShuffle(2))


def zero_module(module: nn.Module) -> nn.Module:
    """Zero every parameter, so the module starts as a no-op branch (ControlNet's zero convolution)."""
    for parameter in module.parameters():
        nn.init.zeros_(parameter)
    return module
