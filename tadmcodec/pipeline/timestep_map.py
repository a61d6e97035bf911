"""Pictures of the per-patch timesteps: each patch's core area coloured from blue (low t, fidelity)
to red (high t, generative), blended over the image."""

from __future__ import annotations

import numpy as np
from PIL import Image

from tadmcodec_formats import LATENT_FACTOR

from .geometry import lr_patch_windows

_STOPS = np.array([[49, 54, 149], [116, 173, 209], [255, 255, 191], [244, 109, 67], [165, 0, 38]], float)


def colourise(values: np.ndarray, low: float = 0.0, high: float = 999.0) -> np.ndarray:
    """Map timesteps in [low, high] to RGB uint8 along a diverging blue-yellow-red scale."""
    position = np.clip((values - low) / max(high - low, 1e-9), 0, 1) * (len(_STOPS) - 1)
    stop = np.floor(position).astype(int).clip(0, len(_STOPS) - 2)
    frac = (position - stop)[..., None]
    return (_STOPS[stop] * (1 - frac) + _STOPS[stop + 1] * frac).astype(np.uint8)


def timestep_field(timesteps: np.ndarray, patch: int, overlap: int, size: tuple[int, int], scale: int) -> np.ndarray:
    """(height, width) map giving each pixel the timestep of the patch whose centre is nearest."""
    width, height = size
    windows = lr_patch_windows((-(-width // scale), -(-height // scale)), scale, patch, overlap)
    centres = np.array([((w.box[0] + w.box[2]) / 2, (w.box[1] + w.box[3]) / 2) for w in windows]) * LATENT_FACTOR
    xs = np.unique(centres[:, 0])
    ys = np.unique(centres[:, 1])
    column = np.abs(np.arange(width)[:, None] + 0.5 - xs[None]).argmin(1)
    row = np.abs(np.arange(height)[:, None] + 0.5 - ys[None]).argmin(1)
    return timesteps.reshape(len(ys), len(xs))[row[:, None], column[None, :]]


def render_timestep_map(
    image: np.ndarray | None,
    timesteps: np.ndarray,
    patch: int,
    overlap: int,
    size: tuple[int, int],
    scale: int,
    opacity: float = 0.55,
    value_range: tuple[float, float] = (0.0, 999.0),
) -> Image.Image:
    """The timestep map over the image (or alone when image is None), as an RGB picture; colours span
    value_range (the full 0-999 by default, so maps of different files compare)."""
    field = timestep_field(timesteps, patch, overlap, size, scale).astype(float)
    colours = colourise(field, *value_range)
    if image is None:
        return Image.fromarray(colours)
    gray = np.asarray(Image.fromarray(image).convert("L").convert("RGB"), float)
    return Image.fromarray((gray * (1 - opacity) + colours * opacity).astype(np.uint8))
