"""Hybrid timestep scheduler: the fixed DDPM x0 formula plus a learnable, zero-initialised correction.

Both paths see the rounded timestep, as the decoder does (it reads integers from the file); a
straight-through estimator lets gradients reach the timestep predictor through the rounding.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..nn.blocks import zero_module


def round_ste(t: torch.Tensor) -> torch.Tensor:
    """Round to integers in the forward pass, identity gradient in the backward pass."""
    return t + (torch.round(t) - t).detach()


def lookup_alpha_bar(alphas_cumprod: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """alpha_bar at t by linear interpolation: exactly the table value at integer t, with a slope."""
    t = t.clamp(0, alphas_cumprod.numel() - 1)
    low = t.detach().floor().long()
    high = (low + 1).clamp(max=alphas_cumprod.numel() - 1)
    frac = t - low.to(t.dtype)
    return alphas_cumprod[low] + frac * (alphas_cumprod[high] - alphas_cumprod[low])


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of continuous timesteps, (B,) -> (B, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    angles = t.float()[:, None] * freqs[None]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


class HybridScheduler(nn.Module):
    """z0 = (z_hat - sqrt(1 - abar) eps) / sqrt(abar) + learnable(z_hat, eps, t)."""

    def __init__(self, num_timesteps: int, latent_channels: int, width: int = 64, embed_dim: int = 64):
        super().__init__()
        self.register_buffer("alphas_cumprod", torch.ones(num_timesteps))  # set from the backbone
        self.embed_dim = embed_dim
        self.time_mlp = nn.Sequential(nn.Linear(embed_dim, width), nn.SiLU(), nn.Linear(width, width))
        self.conv_in = nn.Conv2d(2 * latent_channels, width, 3, padding=1)
        self.conv_mid = nn.Conv2d(width, width, 3, padding=1)
        self.conv_out = zero_module(nn.Conv2d(width, latent_channels, 3, padding=1))
        self.act = nn.SiLU()

    def fixed(self, z_hat: torch.Tensor, eps: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        abar = lookup_alpha_bar(self.alphas_cumprod, round_ste(t)).to(z_hat.dtype)[:, None, None, None]
        return (z_hat - torch.sqrt(1.0 - abar) * eps) / torch.sqrt(abar)

    def forward(self, z_hat: torch.Tensor, eps: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        embedding = self.time_mlp(timestep_embedding(round_ste(t), self.embed_dim)).to(z_hat.dtype)
        h = self.conv_in(torch.cat([z_hat, eps], dim=1)) + embedding[:, :, None, None]
        correction = self.conv_out(self.act(self.conv_mid(self.act(h))))
        return self.fixed(z_hat, eps, t) + correction
