"""Decoupled Feature Rescaling Module: G_e (x, z) -> z_lr, F: z_lr <-> y, G_d: z_lr -> z_hat.

G_e's output is a residual over the area-downscaled image mapped to [0, 1], so the LR starts as a
good thumbnail and training only adds what the decoder needs; the pixel-guidance loss keeps it so.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from tadmcodec_formats import LATENT_FACTOR

from ..nn.blocks import ResBlock, downsample, upsample, zero_module
from .invertible import InvertibleMapping

LR_CHANNELS = 3


def area_guide(x: torch.Tensor, scale: int) -> torch.Tensor:
    """The area-downscaled image in [0, 1]: what the LR starts from and the guidance loss keeps it near."""
    return (F.avg_pool2d(x, scale) + 1.0) / 2.0


def _levels(scale: int) -> int:
    steps = int(math.log2(scale // LATENT_FACTOR))
    if LATENT_FACTOR << steps != scale:
        raise ValueError(f"scale {scale} must be 8 times a power of two")
    return steps


class FeatureEncoder(nn.Module):
    """G_e: image x in [-1, 1] (B, 3, H, W) and latent z (B, c, H/8, W/8) to z_lr (B, 3, H/s, W/s)."""

    def __init__(self, latent_channels: int, scale: int, width: int, blocks: int) -> None:
        super().__init__()
        self.scale = scale
        image_path: list[nn.Module] = [nn.Conv2d(3, width // 2, 3, padding=1)]
        for _ in range(3):
            image_path += [downsample(width // 2), ResBlock(width // 2)]
        self.image_path = nn.Sequential(*image_path)
        fused: list[nn.Module] = [nn.Conv2d(width // 2 + latent_channels, width, 3, padding=1)]
        fused += [ResBlock(width) for _ in range(blocks)]
        for _ in range(_levels(scale)):
            fused += [downsample(width), ResBlock(width)]
        fused += [nn.SiLU(), zero_module(nn.Conv2d(width, LR_CHANNELS, 3, padding=1))]
        self.fused = nn.Sequential(*fused)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return area_guide(x, self.scale) + self.fused(torch.cat([self.image_path(x), z], dim=1))


class FeatureDecoder(nn.Module):
    """G_d: z_lr (B, 3, H/s, W/s) to the rescaled latent z_hat (B, c, H/8, W/8)."""

    def __init__(self, latent_channels: int, scale: int, width: int, blocks: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(LR_CHANNELS, width, 3, padding=1)]
        layers += [ResBlock(width) for _ in range(blocks)]
        for _ in range(_levels(scale)):
            layers += [upsample(width), ResBlock(width)]
        layers += [ResBlock(width) for _ in range(blocks)]
        layers += [nn.SiLU(), nn.Conv2d(width, latent_channels, 3, padding=1)]
        self.layers = nn.Sequential(*layers)

    def forward(self, z_lr: torch.Tensor) -> torch.Tensor:
        return self.layers(z_lr)


class DFRM(nn.Module):
    """The three DFRM parts; the encoder side is (x, z) -> y, the decoder side G_d(F^-1(y)) (see
    TADM.rescaled_latent, which adds the optional skip from the upsampled LR)."""

    def __init__(
        self,
        latent_channels: int,
        scale: int,
        width: int = 64,
        blocks: int = 2,
        flow_blocks: int = 4,
        flow_hidden: int = 32,
    ) -> None:
        super().__init__()
        self.encoder = FeatureEncoder(latent_channels, scale, width, blocks)
        self.mapping = InvertibleMapping(LR_CHANNELS, flow_blocks, flow_hidden)
        self.decoder = FeatureDecoder(latent_channels, scale, width, blocks)

    def downscale(self, x: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(z_lr, y): the rescaled feature and the unquantized LR image."""
        z_lr = self.encoder(x, z)
        return z_lr, self.mapping(z_lr)
