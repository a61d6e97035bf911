"""The invertible network F between the rescaled feature z_lr and the LR image y (exact inverse).

Invertible 1x1 convolutions (LU-parameterised) alternate with affine coupling layers whose scale
is soft-clamped; both start as the identity, so at initialisation y = z_lr.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..nn.blocks import zero_module


class InvertibleConv1x1(nn.Module):
    """A learned invertible channel mixing W = P L U, initialised to the identity."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.register_buffer("permutation", torch.eye(channels))
        self.lower = nn.Parameter(torch.zeros(channels, channels))
        self.upper = nn.Parameter(torch.zeros(channels, channels))
        self.log_scale = nn.Parameter(torch.zeros(channels))
        self.register_buffer("mask", torch.tril(torch.ones(channels, channels), -1))

    def weight(self) -> torch.Tensor:
        eye = torch.eye(self.lower.shape[0], device=self.lower.device, dtype=self.lower.dtype)
        lower = self.lower * self.mask + eye
        upper = self.upper * self.mask.T + torch.diag(torch.exp(self.log_scale))
        return self.permutation @ lower @ upper

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight()[:, :, None, None])

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        inverse = torch.linalg.inv(self.weight().double()).to(y.dtype)
        return F.conv2d(y, inverse[:, :, None, None])


class AffineCoupling(nn.Module):
    """Split channels (a, b): a' = a + f(b); b' = b * exp(s(a')) + g(a'), with |s| < clamp."""

    def __init__(self, channels: int, hidden: int, clamp: float = 1.0) -> None:
        super().__init__()
        self.split = channels // 2
        rest = channels - self.split
        self.clamp = clamp
        self.f = self._subnet(rest, self.split, hidden)
        self.sg = self._subnet(self.split, 2 * rest, hidden)

    @staticmethod
    def _subnet(inputs: int, outputs: int, hidden: int) -> nn.Sequential:
        return nn.Sequential(
            nn.Conv2d(inputs, hidden, 3, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(hidden, hidden, 1),
            nn.LeakyReLU(0.2),
            zero_module(nn.Conv2d(hidden, outputs, 3, padding=1)),
        )

    def _scale_shift(self, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raw_scale, shift = self.sg(a).chunk(2, dim=1)
        return self.clamp * torch.tanh(raw_scale / self.clamp), shift

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x[:, : self.split], x[:, self.split :]
        a = a + self.f(b)
        scale, shift = self._scale_shift(a)
        return torch.cat([a, b * torch.exp(scale) + shift], dim=1)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        a, b = y[:, : self.split], y[:, self.split :]
        scale, shift = self._scale_shift(a)
        b = (b - shift) * torch.exp(-scale)
        return torch.cat([a - self.f(b), b], dim=1)


class InvertibleMapping(nn.Module):
    """F: a stack of (1x1 mixing, coupling) pairs; inverse() undoes forward() exactly."""

    def __init__(self, channels: int = 3, blocks: int = 4, hidden: int = 32) -> None:
        super().__init__()
        self.layers = nn.ModuleList()
        for _ in range(blocks):
            self.layers.append(InvertibleConv1x1(channels))
            self.layers.append(AffineCoupling(channels, hidden))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        for layer in reversed(self.layers):
            y = layer.inverse(y)
        return y
