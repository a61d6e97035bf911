"""Image quality measures, a leaf module every other layer may use (numpy, torch, PIL; nothing of ours).

Full-reference metrics: PSNR, PSNR-Y (BT.601 luma), SSIM, MS-SSIM (torch, differentiable, also training
losses), ST-LPIPS with the AlexNet and VGG networks (tadmcodec.quality.stlpips: the perceptual yardstick) and
SSIMULACRA2 (the `ssimulacra2` package; flat from about -62 to -66 over a wide error range, so reported as
a median and per-image wins only). Realism measures, defined once so every report
compares (issue 13):

    detail ratio  D(decoded) / D(original), D(Y) = mean((Y - G(Y))^2) on BT.601 luma, G a Gaussian blur
                  with sigma 1.5 px (scipy.ndimage.gaussian_filter defaults otherwise): 1.0 is as much
                  fine detail as the original, blur gives near 0, noise more than 1.
    grid excess   mean |gradient| across the 8-pixel block boundaries (between pixel 8k-1 and 8k) over
                  the mean |gradient| everywhere, minus 1, horizontally and vertically: the trace of an
                  8x8 block structure (0 for an image without one).
"""

from __future__ import annotations

import io

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

BLOCK = 8


def gaussian_kernel(size: int = 11, sigma: float = 1.5, device: torch.device | None = None) -> torch.Tensor:
    coords = torch.arange(size, dtype=torch.float32, device=device) - size // 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    return g / g.sum()


def _ssim_parts(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean SSIM and contrast-structure terms per image, for images in [0, 1]."""
    channels = a.shape[1]
    g = gaussian_kernel(device=a.device)
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


def luma_601(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma Y in [16, 235] of (H, W, 3) uint8 RGB (gray (H, W) images are their own luma)."""
    if rgb.ndim == 2:
        return rgb.astype(np.float64)
    weights = np.array([65.481, 128.553, 24.966]) / 255.0
    return rgb[..., :3].astype(np.float64) @ weights + 16.0


def detail_energy(image: np.ndarray) -> float:
    """D(Y): the mean squared difference between luma and its Gaussian blur (sigma 1.5)."""
    from scipy.ndimage import gaussian_filter

    y = luma_601(image)
    return float(np.mean((y - gaussian_filter(y, 1.5)) ** 2))


def detail_energy_map(x: torch.Tensor) -> torch.Tensor:
    """The torch form of D(Y) before its mean: (Y - gaussian_blur(Y, 1.5))^2 per pixel, (B, 1, H, W), with Y
    the BT.601 luma (0-255 scale) of images x in [-1, 1] (B, 3, H, W) and reflected borders."""
    y = luma((x.clamp(-1, 1) + 1) / 2) * 255.0
    kernel = gaussian_kernel(device=x.device)
    size = kernel.numel()
    padded = F.pad(y, (size // 2,) * 4, mode="reflect")
    blurred = F.conv2d(F.conv2d(padded, kernel.view(1, 1, 1, -1)), kernel.view(1, 1, -1, 1))
    return (y - blurred) ** 2


def detail_ratio(original: np.ndarray, decoded: np.ndarray) -> float:
    """D(decoded) / D(original) (nan for an original without any detail)."""
    reference = detail_energy(original)
    return detail_energy(decoded) / reference if reference > 0 else float("nan")


def overshoot(original: np.ndarray, decoded: np.ndarray, area: int = 5) -> float:
    """Halos, in 8-bit luma levels: how far the decoded luma leaves the original's range over each
    area x area window, averaged over pixels (0 where it stays within it). Sharpening draws bright and
    dark outlines along edges that go beyond both sides of the edge; texture within the range costs 0."""
    from scipy.ndimage import maximum_filter, minimum_filter

    y, reference = luma_601(decoded), luma_601(original)
    above = np.maximum(y - maximum_filter(reference, area, mode="nearest"), 0)
    below = np.maximum(minimum_filter(reference, area, mode="nearest") - y, 0)
    return float(np.mean(above + below))


def grid_excess(image: np.ndarray, block: int = BLOCK) -> tuple[float, float]:
    """(horizontal, vertical) excess of the mean absolute gradient on block boundaries over the mean."""
    y = luma_601(image)
    result = []
    for gradient in (np.abs(np.diff(y, axis=1)), np.abs(np.diff(y, axis=0)).T):
        boundaries = gradient[:, block - 1 :: block]
        mean = gradient.mean()
        result.append(float(boundaries.mean() / mean - 1.0) if mean > 0 and boundaries.size else 0.0)
    return result[0], result[1]


def period_pattern(image: np.ndarray, period: int = 4, area: int = 16) -> float:
    """Amplitude, in 8-bit luma levels, of a pattern repeating every `period` pixels (the trace of a
    generator that unfolds pixels period x period, as the texture prior does): per area x area window,
    each of the period^2 pixel phases' mean minus the window's mean, averaged in absolute value. Natural
    images give a small value that blur makes smaller; compare with the original's."""
    y = luma_601(image)
    rows, cols = y.shape[0] // area * area, y.shape[1] // area * area
    phases = y[:rows, :cols].reshape(rows // area, area // period, period, cols // area, area // period, period)
    means = phases.mean(axis=(1, 4))
    return float(np.abs(means - means.mean(axis=(1, 3), keepdims=True)).mean())


def checkerboard(image: np.ndarray) -> float:
    """Amplitude, in 8-bit luma levels, of the 2-pixel checkerboard (the Nyquist frequency in both
    directions; the trace of nearest-neighbour upsampling in a generator): |mean(Y * (-1)^(row + col))|."""
    y = luma_601(image)
    signs = np.where((np.arange(y.shape[0])[:, None] + np.arange(y.shape[1])[None, :]) % 2, -1.0, 1.0)
    return float(abs(np.mean(y * signs)))


def psnr_images(reference: np.ndarray, test: np.ndarray) -> float:
    """PSNR in dB between two uint8 images of any shape (inf when identical)."""
    return psnr(_tensor(reference), _tensor(test)).item() if not np.array_equal(reference, test) else float("inf")


def psnr_y_images(reference: np.ndarray, test: np.ndarray) -> float:
    """PSNR in dB of the BT.601 luma of two (H, W, 3) uint8 images (the PSNR-Y of quality())."""
    return psnr(luma(_tensor(reference)), luma(_tensor(test))).item()


def _tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(image)).permute(2, 0, 1)[None].double() / 255.0


def ssimulacra2_score(reference: np.ndarray, test: np.ndarray) -> float:
    """SSIMULACRA2 (pip package `ssimulacra2`, which reads image files: PNG bytes in memory)."""
    from ssimulacra2 import compute_ssimulacra2

    files = []
    for image in (reference, test):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="PNG", compress_level=1)
        buffer.seek(0)
        files.append(buffer)
    return float(compute_ssimulacra2(*files))


PERCEPTUAL_SIDE = 2048  # ST-LPIPS of larger images: their central crop of this size (bounded memory)


@torch.no_grad()
def st_lpips(reference: np.ndarray, test: np.ndarray, network: str) -> float:
    """ST-LPIPS ("alex" or "vgg") between two (H, W, 3) uint8 images (0: identical, lower is closer); of
    the central PERCEPTUAL_SIDE square where an image is larger."""
    from . import stlpips

    height, width = reference.shape[:2]
    y0, x0 = max(0, (height - PERCEPTUAL_SIDE) // 2), max(0, (width - PERCEPTUAL_SIDE) // 2)
    crop = (slice(y0, y0 + PERCEPTUAL_SIDE), slice(x0, x0 + PERCEPTUAL_SIDE))
    a, b = (_tensor(image[crop]).float() * 2 - 1 for image in (reference, test))
    return float(stlpips.load(network)(a, b)[0])


def quality(
    reference: np.ndarray, test: np.ndarray, with_ssimulacra2: bool = True, with_perceptual: bool = True
) -> dict[str, float]:
    """All metrics of `test` against `reference`, both (H, W, 3) uint8."""
    a, b = _tensor(reference), _tensor(test)
    result = {
        "psnr": psnr(a, b).item(),
        "psnr_y": psnr_y_images(reference, test),
        "ssim": ssim(a.float(), b.float()).item(),
        "ms_ssim": ms_ssim(a.float(), b.float()).item(),
    }
    if with_perceptual:
        result["st_lpips_alex"] = st_lpips(reference, test, "alex")
        result["st_lpips_vgg"] = st_lpips(reference, test, "vgg")
    if with_ssimulacra2:
        result["ssimulacra2"] = ssimulacra2_score(reference, test)
    return result


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rank correlation with average ranks for ties."""

    def ranks(values: np.ndarray) -> np.ndarray:
        order = np.argsort(values, kind="stable")
        ranked = np.empty(len(values))
        ranked[order] = np.arange(len(values))
        for value in np.unique(values):
            tied = values == value
            ranked[tied] = ranked[tied].mean()
        return ranked

    rx, ry = ranks(np.asarray(x, float)), ranks(np.asarray(y, float))
    if rx.std() == 0 or ry.std() == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])
