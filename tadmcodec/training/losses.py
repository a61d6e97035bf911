"""Weight-free losses and metrics: L1, image-gradient L1, SSIM / MS-SSIM, PSNR and luma.

LPIPS and DISTS need network weights that cannot be downloaded here; the perceptual term of the
shipped models is (1 - MS-SSIM) + gradient L1, documented in the model card.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def gradient_l1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """L1 between horizontal and vertical finite differences: penalises blur and ringing."""
    dx = (a[..., :, 1:] - a[..., :, :-1]) - (b[..., :, 1:] - b[..., :, :-1])
    dy = (a[..., 1:, :] - a[..., :-1, :]) - (b[..., 1:, :] - b[..., :-1, :])
    return dx.abs().mean() + dy.abs().mean()


def _gaussian(size: int = 11, sigma: float = 1.5, device: torch.device | None = None) -> torch.Tensor:
    coords = torch.arange(size, dtype=torch.float32, device=device) - size // 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    return g / g.sum()


def _ssim_parts(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean SSIM and contrast-structure terms per image, for images in [0, 1]."""
    channels = a.shape[1]
    g = _gaussian(device=a.device)
    window = (g[:, None] * g[None, :]).expand(channels, 1, -1, -1)

    def blur(v: torch.Tensor) -> torch.Tensor:
        return F.conv2d(v, window, groups=channels)

    c1, c2 = 0.01**2, 0.03**2
    mu_a, mu_b = blur(a), blur(b)
    var_a, var_b, cov = blur(a * a) - mu_a**2, blur(b * b) - mu_b**2, blur(a * b) - mu_a * mu_b
    cs = (2 * cov + c2) / (var_a + var_b + c2)
    luminance = (2 * mu_a * mu_b + c1) / (mu_a**2 + mu_b**2 + c1)
    return (luminance * cs).mean(dim=(1, 2, 3)), cs.mean(dim=(1, 2, 3))


def ssim(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """SSIM per image (11x11 Gaussian window, sigma 1.5), inputs in [0, 1]."""
    return _ssim_parts(a, b)[0]


MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def ms_ssim(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """MS-SSIM per image, with as many of the five scales as the size allows (at least 11 px)."""
    levels = max(1, min(len(MS_SSIM_WEIGHTS), 1 + int(torch.log2(torch.tensor(min(a.shape[-2:]) / 11)).item())))
    weights = torch.tensor(MS_SSIM_WEIGHTS[:levels], device=a.device)
    weights = weights / weights.sum()
    values = []
    for level in range(levels):
        full, cs = _ssim_parts(a, b)
        values.append((full if level == levels - 1 else cs).clamp(min=1e-6))
        if level < levels - 1:
            a, b = F.avg_pool2d(a, 2), F.avg_pool2d(b, 2)
    return torch.prod(torch.stack(values, dim=0) ** weights[:, None], dim=0)


def psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """PSNR per image in dB, inputs in [0, 1]."""
    mse = ((a - b) ** 2).mean(dim=tuple(range(1, a.ndim))).clamp(min=1e-12)
    return 10 * torch.log10(1.0 / mse)


def luma(rgb: torch.Tensor) -> torch.Tensor:
    """ITU-R BT.601 luma (the Y of PSNR-Y), (B, 3, H, W) in [0, 1] to (B, 1, H, W)."""
    weights = torch.tensor([65.481, 128.553, 24.966], device=rgb.device)[None, :, None, None] / 255.0
    return (rgb * weights).sum(dim=1, keepdim=True) + 16.0 / 255.0
