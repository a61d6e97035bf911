"""Full-reference metrics on uint8 RGB images: PSNR, PSNR-Y, SSIM, MS-SSIM and SSIMULACRA2."""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image

from ..training.losses import luma, ms_ssim, psnr, ssim


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


def quality(reference: np.ndarray, test: np.ndarray, with_ssimulacra2: bool = True) -> dict[str, float]:
    """All metrics of `test` against `reference`, both (H, W, 3) uint8."""
    a, b = _tensor(reference), _tensor(test)
    result = {
        "psnr": psnr(a, b).item(),
        "psnr_y": psnr(luma(a), luma(b)).item(),
        "ssim": ssim(a.float(), b.float()).item(),
        "ms_ssim": ms_ssim(a.float(), b.float()).item(),
    }
    if with_ssimulacra2:
        result["ssimulacra2"] = ssimulacra2_score(reference, test)
    return result


def rescale_baseline(image: np.ndarray, scale: int, method: Image.Resampling) -> np.ndarray:
    """Downscale to the codec's LR size and back with a Pillow filter (antialiased both ways)."""
    height, width = image.shape[:2]
    small = Image.fromarray(image).resize((-(-width // scale), -(-height // scale)), method)
    return np.asarray(small.resize((width, height), method))


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
