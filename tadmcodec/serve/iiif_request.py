"""IIIF Image API 3.0 image requests: `{region}/{size}/{rotation}/{quality}.{format}` parsed and checked
against an image's size and the server's limits, into the exact box to read and the output size.

Parsing is pure (no I/O), so every syntax rule is tested on its own. Errors carry the status the
specification gives: 400 for a malformed or impossible request, 501 for a valid one this server does
not implement (arbitrary rotation, formats other than jpg, png and webp).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from PIL import Image

Box = tuple[int, int, int, int]

FORMATS = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
SPEC_FORMATS = {"jpg", "png", "webp", "tif", "gif", "jp2", "pdf"}  # what the specification names
QUALITIES = ("default", "color", "gray", "bitonal")
PILLOW_DEFAULT_MAX_PIXELS = 89_478_485
_NUMBER = r"\d+(?:\.\d+)?"
_INTEGER = re.compile(r"\d+")


class IIIFError(Exception):
    """A request the server answers with `status` (400, 404, 501, 503) and a one-line reason; a 503
    says when to retry."""

    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status, self.retry_after = status, retry_after


@dataclass(frozen=True)
class Limits:
    """The pixel budget of one response: maxArea always, maxWidth / maxHeight when set."""

    max_area: int
    max_width: int | None = None
    max_height: int | None = None

    @classmethod
    def in_memory(cls, max_width: int | None = None, max_height: int | None = None) -> Limits:
        """maxArea at the in-memory decode limit (tadm_file.check_in_memory_size: twice Pillow's
        decompression-bomb threshold, or twice Pillow's default where that is lifted)."""
        return cls(2 * (Image.MAX_IMAGE_PIXELS or PILLOW_DEFAULT_MAX_PIXELS), max_width, max_height)

    def __str__(self) -> str:
        sides = [f"maxWidth {self.max_width}"] * bool(self.max_width) + [f"maxHeight {self.max_height}"] * bool(
            self.max_height
        )
        return ", ".join([f"maxArea {self.max_area}", *sides])

    def fits(self, width: int, height: int) -> bool:
        return (
            width * height <= self.max_area
            and (self.max_width is None or width <= self.max_width)
            and (self.max_height is None or height <= self.max_height)
        )

    def largest(self, width: int, height: int) -> tuple[int, int]:
        """width x height scaled down (aspect kept) until it fits the budget."""
        factor = min(
            1.0,
            math.sqrt(self.max_area / (width * height)),
            self.max_width / width if self.max_width else 1.0,
            self.max_height / height if self.max_height else 1.0,
        )
        if factor >= 1.0:
            return width, height
        return max(1, math.floor(width * factor)), max(1, math.floor(height * factor))


@dataclass(frozen=True)
class ImageRequest:
    """One parsed image request: read `region` (full-resolution pixels), scale it to `size` (width,
    height), mirror, rotate by a multiple of 90 degrees, convert to `quality`, encode as `format`."""

    region: Box
    size: tuple[int, int]
    mirror: bool
    rotation: int
    quality: str
    format: str

    @property
    def canonical(self) -> str:
        """The request in the specification's canonical form (the cache and ETag key)."""
        x0, y0, x1, y1 = self.region
        rotation = f"{'!' if self.mirror else ''}{self.rotation}"
        return f"{x0},{y0},{x1 - x0},{y1 - y0}/{self.size[0]},{self.size[1]}/{rotation}/{self.quality}.{self.format}"


def parse_request(
    region: str, size: str, rotation: str, quality_format: str, width: int, height: int, limits: Limits
) -> ImageRequest:
    """Check an image request's four path segments against a width x height image (IIIFError if wrong)."""
    box = parse_region(region, width, height)
    out = parse_size(size, box[2] - box[0], box[3] - box[1], limits)
    mirror, degrees = parse_rotation(rotation)
    quality, _, extension = quality_format.rpartition(".")
    if quality not in QUALITIES:
        raise IIIFError(400, f"quality {quality!r}: use one of {', '.join(QUALITIES)}")
    if extension not in FORMATS:
        status = 501 if extension in SPEC_FORMATS else 400
        raise IIIFError(status, f"format {extension!r}: this server gives {', '.join(FORMATS)}")
    return ImageRequest(box, out, mirror, degrees, quality, extension)


def parse_region(text: str, width: int, height: int) -> Box:
    """`full`, `square` (centred), `x,y,w,h` or `pct:x,y,w,h`, clipped to the image; 400 when it is empty
    or wholly outside."""
    if text == "full":
        return 0, 0, width, height
    if text == "square":
        side = min(width, height)
        x0, y0 = (width - side) // 2, (height - side) // 2
        return x0, y0, x0 + side, y0 + side
    percent = text.startswith("pct:")
    parts = text[4:].split(",") if percent else text.split(",")
    pattern = _NUMBER if percent else r"\d+"
    if len(parts) != 4 or not all(re.fullmatch(pattern, p) for p in parts):
        raise IIIFError(400, f"region {text!r}: use full, square, x,y,w,h or pct:x,y,w,h")
    if percent:
        px, py, pw, ph = (float(p) for p in parts)
        x, y = round(px * width / 100), round(py * height / 100)
        w, h = round(pw * width / 100), round(ph * height / 100)
    else:
        x, y, w, h = (int(p) for p in parts)
    if w <= 0 or h <= 0 or x >= width or y >= height:
        raise IIIFError(400, f"region {text!r} is empty or outside the {width} x {height} image")
    return x, y, min(x + w, width), min(y + h, height)


def parse_size(text: str, width: int, height: int, limits: Limits) -> tuple[int, int]:
    """The output size for a region of width x height: `max`, `w,`, `,h`, `w,h`, `!w,h`, `pct:n`, each
    with a leading `^` to allow upscaling; 400 when it is zero, upscales without `^`, or exceeds the
    pixel budget."""
    upscale = text.startswith("^")
    body = text[1:] if upscale else text
    if body == "max":
        return _largest_upscaled(width, height, limits) if upscale else limits.largest(width, height)
    if body.startswith("pct:"):
        if not re.fullmatch(_NUMBER, body[4:]):
            raise IIIFError(400, f"size {text!r}: pct:n needs a number")
        factor = float(body[4:]) / 100
        out = (round(width * factor), round(height * factor))
    else:
        confined = body.startswith("!")
        parts = (body[1:] if confined else body).split(",")
        if len(parts) != 2 or not all(p == "" or _INTEGER.fullmatch(p) for p in parts) or parts == ["", ""]:
            raise IIIFError(400, f"size {text!r}: use max, w,, ,h, w,h, !w,h or pct:n, optionally after ^")
        w, h = (int(p) if p else None for p in parts)
        if confined:
            if w is None or h is None:
                raise IIIFError(400, f"size {text!r}: !w,h needs both")
            factor = min(w / width, h / height)
            out = (max(1, round(width * factor)), max(1, round(height * factor))) if factor > 0 else (0, 0)
        elif w is None:
            out = (round(width * h / height), h)
        elif h is None:
            out = (w, round(height * w / width))
        else:
            out = (w, h)
    if out[0] <= 0 or out[1] <= 0:
        raise IIIFError(400, f"size {text!r} gives an empty image")
    if not upscale and (out[0] > width or out[1] > height):
        raise IIIFError(400, f"size {text!r} is larger than the {width} x {height} region: ask with ^ to upscale")
    if not limits.fits(*out):
        raise IIIFError(400, f"size {text!r} gives {out[0]} x {out[1]}, over this server's limit ({limits})")
    return out


def _largest_upscaled(width: int, height: int, limits: Limits) -> tuple[int, int]:
    """`^max`: the largest size within the budget with the region's aspect (the region itself when
    only maxArea bounds it, since upscaling without a bound would be unbounded)."""
    if limits.max_width is None and limits.max_height is None:
        return limits.largest(width, height)
    factor = min(
        limits.max_width / width if limits.max_width else math.inf,
        limits.max_height / height if limits.max_height else math.inf,
    )
    return limits.largest(max(1, math.floor(width * factor)), max(1, math.floor(height * factor)))


def parse_rotation(text: str) -> tuple[bool, int]:
    """(mirror, degrees) for `n` or `!n`; n a multiple of 90 below 360 (501 for other angles)."""
    mirror = text.startswith("!")
    body = text[1:] if mirror else text
    if not re.fullmatch(_NUMBER, body) or float(body) > 360:
        raise IIIFError(400, f"rotation {text!r}: use a number from 0 to 360, optionally after !")
    degrees = float(body) % 360
    if degrees % 90:
        raise IIIFError(501, f"rotation {text!r}: this server rotates by multiples of 90 degrees")
    return mirror, int(degrees)
