"""Writing decoded images to PNG, TIFF, JPEG or WebP atomically, with EXIF, ICC, XMP and text kept."""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image, PngImagePlugin

from tadmcodec_formats.atomic import AtomicFile

from .errors import InputImageError
from .image_io import XMP_TIFF_TAG

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
    elif fmt == "WEBP":
        options |= {"lossless": True, "quality": 100} | ({"xmp": xmp} if xmp else {})
    return options


def save_image(image: Image.Image, path: str | os.PathLike[str], explicit_format: str | None = None) -> int:
    """Write atomically (temporary file, then rename); returns the bytes written."""
    fmt = output_format(path, explicit_format)
    image_to_save = image.convert("RGBA") if fmt == "WEBP" and image.mode == "LA" else image
    with AtomicFile(path) as target:
        image_to_save.save(target.file, format=fmt, **save_options(image, fmt))
        written = target.file.tell()
    return written
