"""Writing decoded images to PNG, TIFF, JPEG or WebP atomically, with EXIF, ICC, XMP and text kept.

The rule for metadata a format cannot hold: it is left out of that output with a one-line
MetadataDroppedWarning naming it and its size (warn_dropped), and the image is written. JPEG's EXIF
and XMP must each fit one 64 KB marker, its ICC profile 255 of them; text chunks are PNG's alone; the
streamed pyramidal TIFF (tadmcodec.io.tiff_output) carries ICC and XMP but no EXIF.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from PIL import Image, PngImagePlugin

from tadmcodec_formats.atomic import AtomicFile

from ..errors import InputImageError, MetadataDroppedWarning
from .image_input import XMP_TIFF_TAG

JPEG_MARKER = 65533  # payload bytes of one JPEG marker segment
JPEG_LIMITS = {"exif": JPEG_MARKER, "xmp": JPEG_MARKER - 29, "icc_profile": 255 * (JPEG_MARKER - 14)}
FORMATS = {".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
_INFO_KEYS = {"exif", "icc_profile", "xmp"}


def output_format(path: str | os.PathLike[str], explicit: str | None = None) -> str:
    """The Pillow format for an output path (by extension) or an explicit name (png, tif, jpg, webp)."""
    suffix = f".{explicit.lower().lstrip('.')}" if explicit else Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InputImageError(f"cannot write {suffix or 'files without an extension'}: use {', '.join(FORMATS)}")
    return FORMATS[suffix]


def save_options(image: Image.Image, fmt: str) -> dict[str, object]:
    """Lossless (or high-quality JPEG) settings and the metadata each format can carry."""
    info = image.info
    options: dict[str, object] = {k: info[k] for k in ("exif", "icc_profile") if info.get(k)}
    xmp = info.get("xmp")
    text = {k: v for k, v in info.items() if k not in _INFO_KEYS and isinstance(v, str)}
    if fmt == "PNG":
        pnginfo = PngImagePlugin.PngInfo()
        for key, value in text.items():
            pnginfo.add_itxt(key, value)
        if xmp:
            pnginfo.add_itxt("XML:com.adobe.xmp", xmp.decode("utf-8", "replace") if isinstance(xmp, bytes) else xmp)
        options |= {"pnginfo": pnginfo, "compress_level": 6}
    elif fmt == "TIFF":
        options |= {"compression": "tiff_adobe_deflate"}
        if xmp:
            options["tiffinfo"] = {XMP_TIFF_TAG: xmp}
    elif fmt == "JPEG":
        if image.mode in ("LA", "RGBA"):
            raise InputImageError("JPEG cannot store alpha: decode to png, tif or webp instead")
        options |= {"quality": 95, "subsampling": 0} | ({"xmp": xmp} if xmp else {})
        for key, limit in JPEG_LIMITS.items():
            if len(options.get(key) or b"") > limit:
                warn_dropped(key, len(options.pop(key)), f"JPEG (at most {limit} bytes fit)")
    elif fmt == "WEBP":
        options |= {"lossless": True, "quality": 100} | ({"xmp": xmp} if xmp else {})
    if text and fmt != "PNG":
        warn_dropped(f"text {sorted(text)}", sum(len(v) for v in text.values()), fmt)
    return options


def warn_dropped(what: str, size: int, output: str) -> None:
    """The one-line warning for metadata left out of an output whose format cannot hold it."""
    message = f"{what} of {size} bytes left out of the {output} output; the .tadm file keeps it, png keeps all"
    warnings.warn(message, MetadataDroppedWarning, stacklevel=4)


def save_image(image: Image.Image, path: str | os.PathLike[str], explicit_format: str | None = None) -> int:
    """Write atomically (temporary file, then rename); returns the bytes written."""
    fmt = output_format(path, explicit_format)
    image_to_save = image.convert("RGBA") if fmt == "WEBP" and image.mode == "LA" else image
    with AtomicFile(path) as target:
        image_to_save.save(target.file, format=fmt, **save_options(image, fmt))
        written = target.file.tell()
    return written
