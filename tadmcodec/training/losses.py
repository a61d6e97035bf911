"""Training losses that are not metrics: image-gradient L1 (the metrics live in tadmcodec.metrics).

LPIPS and DISTS need network weights that cannot be downloaded here; the perceptual term of the
shipped models is (1 - MS-SSIM) + gradient L1, documented in the model card.
"""

from __future__ import annotations

import torch


def gradient_l1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """L1 between horizontal and vertical finite differences: penalises blur and ringing."""
    dx = (a[..., :, 1:] - a[..., :, :-1]) - (b[..., :, 1:] - b[..., :, :-1])
    dy = (a[..., 1:, :] - a[..., :-1, :]) - (b[..., 1:, :] - b[..., :-1, :])
    return dx.abs().mean() + dy.abs().mean()
