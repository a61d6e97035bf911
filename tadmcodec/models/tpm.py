"""Timestep Prediction Module: a light CNN from a latent patch z_hat to a continuous timestep."""

from __future__ import annotations

import math

import torch
from torch import nn


class TimestepPredictor(nn.Module):
    """Maps (B, c, h, w) patches to timesteps in [1, T - 1], one per patch."""

    def __init__(self, latent_channels: int, num_timesteps: int = 1000, width: int = 32, initial: float = 100.0):
        super().__init__()
        self.num_timesteps = num_timesteps
        self.features = nn.Sequential(
            nn.Conv2d(latent_channels, width, 3, stride=2, padding=1),
            nn.SiLU(),
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1),
            nn.SiLU(),
            nn.Conv2d(2 * width, 2 * width, 3, padding=1),
            nn.SiLU(),
        )
        self.head = nn.Linear(2 * width, 1)
        nn.init.zeros_(self.head.weight)
        fraction = (initial - 1.0) / (num_timesteps - 2.0)
        nn.init.constant_(self.head.bias, math.log(fraction / (1.0 - fraction)))

    def forward(self, z_hat: torch.Tensor) -> torch.Tensor:
        pooled = self.features(z_hat).mean(dim=(2, 3))
        return 1.0 + (self.num_timesteps - 2.0) * torch.sigmoid(self.head(pooled)[:, 0])
