"""The image information document (info.json) of IIIF Image API 3.0, level 2, as this server serves it:
nothing is advertised that the server does not do."""

from __future__ import annotations

import math
from typing import Any

from .iiif_request import FORMATS, Limits
from .library import ServedImage

CONTEXT = "http://iiif.io/api/image/3/context.json"
PROTOCOL = "http://iiif.io/api/image"
TILE = 512
MIN_SIZE = 64  # the smallest LR halving listed in `sizes`
EXTRA_QUALITIES = ["gray", "bitonal"]  # level 2 has default and color
EXTRA_FEATURES = ["mirroring", "sizeUpscaling"]


def image_info(image: ServedImage, service_id: str, limits: Limits | None) -> dict[str, Any]:
    """info.json for `image` served at `service_id` (its base URI): level 2 with `limits` (this server),
    level 0 without (a static export: the tiles and sizes listed, in jpg, are all there is)."""
    info: dict[str, Any] = {
        "@context": CONTEXT,
        "id": service_id,
        "type": "ImageService3",
        "protocol": PROTOCOL,
        "profile": "level2" if limits else "level0",
        "width": image.width,
        "height": image.height,
    }
    if limits:
        info["maxArea"] = limits.max_area
        if limits.max_width:
            info["maxWidth"] = limits.max_width
        if limits.max_height:
            info["maxHeight"] = limits.max_height
    if image.lr_scale is not None:
        info["sizes"] = lr_sizes(image.width, image.height, image.lr_scale)
    info["tiles"] = [{"width": TILE, "scaleFactors": scale_factors(image.width, image.height)}]
    if limits:
        info["extraQualities"] = EXTRA_QUALITIES
        info["extraFormats"] = [name for name in FORMATS if name not in ("jpg", "png")]
        info["extraFeatures"] = EXTRA_FEATURES
    return info


def lr_sizes(width: int, height: int, scale: int) -> list[dict[str, int]]:
    """The stored LR's size and its halvings down to MIN_SIZE, smallest first: the sizes the LR serves
    without any model run."""
    lr_width, lr_height = math.ceil(width / scale), math.ceil(height / scale)
    sizes = [(lr_width, lr_height)]
    while max(sizes[-1]) // 2 >= MIN_SIZE:
        sizes.append((math.ceil(sizes[-1][0] / 2), math.ceil(sizes[-1][1] / 2)))
    return [{"width": w, "height": h} for w, h in reversed(sizes)]


def scale_factors(width: int, height: int) -> list[int]:
    """Powers of two from 1 until the whole image fits one tile."""
    factors = [1]
    while max(width, height) / factors[-1] > TILE:
        factors.append(factors[-1] * 2)
    return factors
