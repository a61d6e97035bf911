"""What a user would do instead of tadmcodec: rescale with a standard filter."""

from __future__ import annotations

import numpy as np
from PIL import Image


def rescale_baseline(image: np.ndarray, scale: int, method: Image.Resampling) -> np.ndarray:
    """Downscale to the codec's LR size and back with a Pillow filter (antialiased both ways)."""
    height, width = image.shape[:2]
    small = Image.fromarray(image).resize((-(-width // scale), -(-height // scale)), method)
    return np.asarray(small.resize((width, height), method))
