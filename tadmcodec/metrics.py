"""Realism measures on decoded images, defined once so that every report compares (issue 13).

detail ratio  D(decoded) / D(original), D(Y) = mean((Y - G(Y))^2) on BT.601 luma, G a Gaussian blur
              with sigma 1.5 px (scipy.ndimage.gaussian_filter defaults otherwise): 1.0 is as much
              fine detail as the original, blur gives near 0, noise more than 1.
grid excess   mean |gradient| across the 8-pixel block boundaries (between pixel 8k-1 and 8k) over
              the mean |gradient| everywhere, minus 1, horizontally and vertically: the trace of an
              8x8 block structure (0 for an image without one).
"""

from __future__ import annotations

import numpy as np

BLOCK = 8


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


def detail_ratio(original: np.ndarray, decoded: np.ndarray) -> float:
    """D(decoded) / D(original) (nan for an original without any detail)."""
    reference = detail_energy(original)
    return detail_energy(decoded) / reference if reference > 0 else float("nan")


def grid_excess(image: np.ndarray, block: int = BLOCK) -> tuple[float, float]:
    """(horizontal, vertical) excess of the mean absolute gradient on block boundaries over the mean."""
    y = luma_601(image)
    result = []
    for gradient in (np.abs(np.diff(y, axis=1)), np.abs(np.diff(y, axis=0)).T):
        boundaries = gradient[:, block - 1 :: block]
        mean = gradient.mean()
        result.append(float(boundaries.mean() / mean - 1.0) if mean > 0 and boundaries.size else 0.0)
    return result[0], result[1]
