"""Standard codecs through Pillow at a byte budget: the highest quality whose file fits, or a finding
that even the lowest quality does not fit (at 16x and 32x rates that happens)."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, features

# name -> (Pillow format, lowest quality, highest quality, extra save options)
CODECS: dict[str, tuple[str, int, int, dict[str, object]]] = {
    "jpeg": ("JPEG", 1, 95, {"optimize": True}),
    "webp": ("WEBP", 0, 100, {"method": 6}),
    "avif": ("AVIF", 0, 100, {"speed": 6}),
    "jpegxl": ("JXL", 0, 100, {}),
}


@dataclass
class Fitted:
    """One codec at a budget: the file and its decoded pixels (the smallest file when none fits,
    with fits False), and a note saying why it could not fit."""

    codec: str
    quality: int | None = None
    data: bytes | None = None
    decoded: np.ndarray | None = None
    fits: bool = False
    note: str = ""


def available(codec: str) -> bool:
    """Whether this Pillow can write the codec (JPEG XL needs the pillow-jxl-plugin package)."""
    if codec == "jpegxl":
        try:
            import pillow_jxl  # noqa: F401  (registers the JXL format)
        except ImportError:
            return False
        return True
    return features.check({"jpeg": "jpg", "webp": "webp", "avif": "avif"}[codec])


def _encode(image: Image.Image, codec: str, quality: int) -> bytes:
    fmt, _, _, options = CODECS[codec]
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, quality=quality, **options)
    return buffer.getvalue()


def fit_budget(rgb: np.ndarray, codec: str, budget: int) -> Fitted:
    """The highest quality (binary search; sizes grow with quality) whose file is at most budget bytes."""
    if not available(codec):
        return Fitted(codec, note="not available in this Pillow")
    _, low, high, _ = CODECS[codec]
    image = Image.fromarray(rgb)
    smallest = _encode(image, codec, low)
    if len(smallest) > budget:
        note = f"cannot reach the budget: quality {low} needs {len(smallest)} B > {budget} B"
        return Fitted(codec, low, smallest, _decode(smallest), False, note)
    best, best_quality = smallest, low
    while low < high:
        middle = (low + high + 1) // 2
        data = _encode(image, codec, middle)
        if len(data) <= budget:
            best, best_quality, low = data, middle, middle
        else:
            high = middle - 1
    return Fitted(codec, best_quality, best, _decode(best), True)


def _decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as decoded:
        return np.asarray(decoded.convert("RGB"))


RESCALED_FACTORS = (1, 2, 4, 8)


@dataclass
class Pipeline:
    """The standard pipeline a user would otherwise run at a byte budget: downscale by `factor`
    (Lanczos), AVIF at the highest quality that fits, Lanczos back up to the full size."""

    factor: int
    fitted: Fitted
    decoded: np.ndarray


def rescaled_avif(rgb: np.ndarray, budget: int, score: Callable[[np.ndarray], float]) -> Pipeline | None:
    """The best of downscaling by 1, 2, 4 or 8 before AVIF, by `score` of the upscaled result (higher is
    better); None when AVIF cannot reach the budget at any factor."""
    height, width = rgb.shape[:2]
    best: Pipeline | None = None
    best_score = -np.inf
    for factor in RESCALED_FACTORS:
        small = Image.fromarray(rgb).resize((-(-width // factor), -(-height // factor)), Image.Resampling.LANCZOS)
        fitted = fit_budget(np.asarray(small), "avif", budget)
        if not fitted.fits:
            continue
        decoded = np.asarray(Image.fromarray(fitted.decoded).resize((width, height), Image.Resampling.LANCZOS))
        value = score(decoded)
        if value > best_score:
            best, best_score = Pipeline(factor, fitted, decoded), value
    return best
