"""Training losses that are not metrics: image-gradient L1, the 8-pixel grid penalty and the timestep
ranking term (the metrics live in tadmcodec.quality.metrics).

LPIPS and DISTS need network weights that cannot be downloaded here; the perceptual term of the
shipped models is (1 - MS-SSIM) + gradient L1, documented in the model card.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..quality.metrics import detail_energy_map


def gradient_l1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """L1 between horizontal and vertical finite differences: penalises blur and ringing."""
    dx = (a[..., :, 1:] - a[..., :, :-1]) - (b[..., :, 1:] - b[..., :, :-1])
    dy = (a[..., 1:, :] - a[..., :-1, :]) - (b[..., 1:, :] - b[..., :-1, :])
    return dx.abs().mean() + dy.abs().mean()


def grid_excess_loss(y: torch.Tensor, x: torch.Tensor, block: int = 8) -> torch.Tensor:
    """How far y's steps across the block boundaries (between pixels 8k-1 and 8k of the crop, where the tiny
    VAE's latent pixels meet), relative to its steps elsewhere, are from the original x's: the
    differentiable form of tadmcodec.quality.metrics.grid_excess. Both signs count: sharper boundaries are a grid,
    smoother ones a periodic blur (a one-sided penalty drove the first run to -0.2 to -0.37)."""

    def excess(image: torch.Tensor) -> torch.Tensor:
        dx = (image[..., :, 1:] - image[..., :, :-1]).abs()
        dy = (image[..., 1:, :] - image[..., :-1, :]).abs()
        across_x = dx[..., :, block - 1 :: block].mean() / (dx.mean() + 1e-6)
        across_y = dy[..., block - 1 :: block, :].mean() / (dy.mean() + 1e-6)
        return across_x + across_y

    return (excess(y) - excess(x).detach()).abs()


def detail_energy_per_image(x: torch.Tensor) -> torch.Tensor:
    """D(Y) of each image (B,), the torch form of tadmcodec.quality.metrics.detail_energy, for images x in [-1, 1]."""
    return detail_energy_map(x).mean(dim=(1, 2, 3))


def detail_shortfall(y: torch.Tensor, requested: torch.Tensor) -> torch.Tensor:
    """How far the detail energy of decoded crops y falls short of the requested energies (B,), in log
    terms: mean of relu(log(1 + requested) - log(1 + D(y)))^2. One-sided: the fidelity terms pull the
    other way, so the decoder adds texture only where it is asked for."""
    gap = torch.log1p(requested) - torch.log1p(detail_energy_per_image(y))
    return F.relu(gap).square().mean()


def timestep_rank_loss(
    t: torch.Tensor, x: torch.Tensor, temperature: float = 10.0, margin: float = 0.25
) -> torch.Tensor:
    """Pairwise logistic ranking of the crops' timesteps t (B,) by the detail energy of their originals x:
    for each pair whose log energies differ by more than `margin`, softplus(-(t_more - t_less) / T).
    Only the order is asked for (paper Fig. 14: texture gets larger timesteps than flat areas); the
    fidelity terms keep choosing the scale. Zero when no pair qualifies."""
    log_energy = torch.log(detail_energy_per_image(x) + 1e-3)
    more = log_energy[:, None] - log_energy[None, :] > margin
    if not more.any():
        return t.sum() * 0.0
    gap = (t[:, None] - t[None, :]) / temperature
    return F.softplus(-gap[more]).mean()
