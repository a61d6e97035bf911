"""Pillow images in and out of the codec: modes, alpha, EXIF orientation and metadata passthrough.

Input rules (format version 1 stores 8 bits per channel):
- L and 1 are gray; LA, La, RGBa and PA keep their alpha; P becomes RGB, or RGBA when it has transparency;
  CMYK, YCbCr, LAB and HSV become RGB (a CMYK ICC profile no longer applies and is dropped).
- 16-bit and float modes (I;16*, I, F) are refused with InputImageError, never silently truncated.
- EXIF orientation is applied to the pixels and the orientation tag is dropped from the stored EXIF
  (as ImageOps.exif_transpose does), so viewers do not rotate twice.
Torch-free, so thumbnails and headers never import the model.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from tadmcodec_formats import ColourSpace, ColourType, Metadata

from ..errors import InputImageError, InputWarning
from .raster import ArrayRaster, Raster

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp", ".gif", ".ppm", ".pgm", ".pnm"}
EXIF_PREFIX = b"Exif\x00\x00"
ORIENTATION = 0x0112
XMP_TIFF_TAG = 700
_TARGET_MODE = {
    "L": "L",
    "1": "L",
    "LA": "LA",
    "La": "LA",
    "RGB": "RGB",
    "RGBA": "RGBA",
    "RGBa": "RGBA",
    "PA": "RGBA",
    "RGBX": "RGB",
    "CMYK": "RGB",
    "YCbCr": "RGB",
    "LAB": "RGB",
    "HSV": "RGB",
}
_HIGH_DEPTH = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")


@dataclass
class PreparedImage:
    """What the encoder needs: RGB pixels, the optional alpha plane (rasters read by box, so a tiled
    TIFF is never decoded whole), the layout and the metadata."""

    rgb: Raster
    alpha: Raster | None
    colour_type: ColourType
    colour_space: ColourSpace
    metadata: Metadata

    @property
    def size(self) -> tuple[int, int]:
        return self.rgb.width, self.rgb.height


def prepare(image: Image.Image) -> PreparedImage:
    """Normalise a Pillow image of any common mode for encoding (see the module rules)."""
    if image.mode in _HIGH_DEPTH:
        raise InputImageError(
            f"mode {image.mode} has more than 8 bits per channel; .tadm version 1 stores 8 bits: "
            "convert the image (for example image.convert('RGB')) before encoding"
        )
    frames = getattr(image, "n_frames", 1)
    if frames > 1:
        warnings.warn(
            f"the input has {frames} frames (an animation): only the first is encoded", InputWarning, stacklevel=3
        )
    upright = ImageOps.exif_transpose(image) if image.getexif().get(ORIENTATION, 1) != 1 else image
    metadata = _metadata(upright)
    if upright.mode == "P":
        mode = "RGBA" if "transparency" in upright.info else "RGB"
    elif upright.mode in _TARGET_MODE:
        mode = _TARGET_MODE[upright.mode]
    else:
        raise InputImageError(f"unsupported image mode {upright.mode}")
    if upright.mode == "CMYK":
        metadata.icc_profile = None
    converted = upright.convert(mode)
    colour_type = {"L": ColourType.GRAY, "LA": ColourType.GRAY_ALPHA, "RGB": ColourType.RGB, "RGBA": ColourType.RGBA}[
        mode
    ]
    pixels = np.asarray(converted)
    alpha = ArrayRaster(pixels[..., -1].copy()) if colour_type.has_alpha else None
    space = ColourSpace.ICC if metadata.icc_profile else ColourSpace.SRGB
    return PreparedImage(ArrayRaster(np.asarray(converted.convert("RGB"))), alpha, colour_type, space, metadata)


def _metadata(image: Image.Image) -> Metadata:
    """EXIF, ICC profile, XMP and text chunks of a Pillow image."""
    exif_bytes = None
    exif = image.getexif()
    if len(exif):
        exif_bytes = exif.tobytes()
        exif_bytes = exif_bytes[len(EXIF_PREFIX) :] if exif_bytes.startswith(EXIF_PREFIX) else exif_bytes
    xmp = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp")
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8")
    text = {str(k): v for k, v in getattr(image, "text", {}).items() if k != "XML:com.adobe.xmp" and isinstance(v, str)}
    text = {k: v for k, v in text.items() if 1 <= len(k.encode("utf-8")) <= 79 and "\0" not in k}
    return Metadata(
        exif=exif_bytes or None, icc_profile=image.info.get("icc_profile") or None, xmp=xmp or None, text=text
    )


def to_pil(rgb: np.ndarray, alpha: np.ndarray | None, colour_type: ColourType, metadata: Metadata) -> Image.Image:
    """The decoded image in the stored mode, with the metadata in Pillow's info keys."""
    image = Image.fromarray(rgb, "RGB")
    if colour_type in (ColourType.GRAY, ColourType.GRAY_ALPHA):
        image = image.convert("L")
    if alpha is not None:
        image.putalpha(Image.fromarray(alpha, "L"))
    apply_metadata(image, metadata)
    return image


def stored_pixels(rgb: np.ndarray, alpha: np.ndarray | None, colour_type: ColourType) -> np.ndarray:
    """Decoded pixels in the stored mode as an (h, w, C) array (C = 1, 2, 3 or 4), as to_pil makes them."""
    return channels_last(to_pil(rgb, alpha, colour_type, Metadata()))


def channels_last(image: Image.Image) -> np.ndarray:
    """A Pillow image as an (h, w, C) array, gray ones included (C = 1)."""
    pixels = np.asarray(image)
    return pixels[..., None] if pixels.ndim == 2 else pixels


def apply_metadata(image: Image.Image, metadata: Metadata) -> None:
    """Put the container's metadata into Pillow's info keys (as Pillow's own plugins do)."""
    if metadata.exif:
        image.info["exif"] = EXIF_PREFIX + metadata.exif
    if metadata.icc_profile:
        image.info["icc_profile"] = metadata.icc_profile
    if metadata.xmp:
        image.info["xmp"] = metadata.xmp
    for key, value in metadata.text.items():
        image.info.setdefault(key, value)


def lr_thumbnail(lr: np.ndarray, colour_type: ColourType) -> Image.Image:
    """The stored LR image as a Pillow image in the file's mode (its alpha channel included)."""
    alpha = lr[..., 3] if colour_type.has_alpha else None
    return to_pil(np.ascontiguousarray(lr[..., :3]), alpha, colour_type, Metadata())
