"""From a region's pixels to the response's bytes: scale, mirror, rotate, quality and format, in the
specification's order; and the rule for when the stored LR answers a request without the model.
"""

from __future__ import annotations

import io
import math

from PIL import Image

from .iiif_request import ImageRequest
from .library import ServedImage

LR_MARGIN = 3  # LR pixels read around a region, for the resampling filter's reach
ENCODE_OPTIONS = {
    "jpg": ("JPEG", {"quality": 90}),
    "png": ("PNG", {"compress_level": 6}),
    "webp": ("WEBP", {"quality": 90}),
}


def lr_serves(image: ServedImage, request: ImageRequest, upscale_limit: float) -> bool:
    """Whether the stored LR, enlarged at most `upscale_limit` times (the Pillow plugin's rule for
    draft and thumbnails), covers the output size: then no model runs."""
    if image.lr_scale is None:
        return False
    x0, y0, x1, y1 = request.region
    width, height = request.size
    return width <= (x1 - x0) / image.lr_scale * upscale_limit and height <= (y1 - y0) / image.lr_scale * upscale_limit


def from_lr(image: ServedImage, request: ImageRequest) -> Image.Image:
    """The region at the output size, resampled (Lanczos) from the LR pixels under it, read with a small
    margin: the LR at its own size comes back exactly."""
    scale = image.lr_scale
    assert scale is not None
    x0, y0, x1, y1 = (v / scale for v in request.region)
    lr_width, lr_height = math.ceil(image.width / scale), math.ceil(image.height / scale)
    box = (
        max(0, math.floor(x0) - LR_MARGIN),
        max(0, math.floor(y0) - LR_MARGIN),
        min(lr_width, math.ceil(x1) + LR_MARGIN),
        min(lr_height, math.ceil(y1) + LR_MARGIN),
    )
    pixels = image.lr(box)
    inside = (x0 - box[0], y0 - box[1], x1 - box[0], y1 - box[1])
    return pixels.resize(request.size, Image.Resampling.LANCZOS, box=inside)


def finish(region: Image.Image, request: ImageRequest) -> Image.Image:
    """Scale the region's pixels to the output size, then mirror, rotate and convert to the quality."""
    image = region if region.size == request.size else region.resize(request.size, Image.Resampling.LANCZOS)
    if request.mirror:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if request.rotation:
        turn = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_90}
        image = image.transpose(turn[request.rotation])  # IIIF turns clockwise, Pillow's names count anticlockwise
    if request.quality == "bitonal":
        return image.convert("L").point(lambda v: 255 if v >= 128 else 0).convert("1")
    alpha = image.getchannel("A") if "A" in image.getbands() and request.format != "jpg" else None
    gray = request.quality == "gray" or (request.quality == "default" and image.mode in ("L", "LA"))
    image = image.convert("L" if gray else "RGB")
    if alpha is not None:
        image.putalpha(alpha)
    return image


def encode(image: Image.Image, format: str, icc_profile: bytes | None = None) -> bytes:
    """The image in `format` (jpg, png, webp), with the source's ICC profile when it has one."""
    name, options = ENCODE_OPTIONS[format]
    buffer = io.BytesIO()
    extra = {"icc_profile": icc_profile} if icc_profile and image.mode != "1" else {}
    image.save(buffer, name, **options, **extra)
    return buffer.getvalue()
