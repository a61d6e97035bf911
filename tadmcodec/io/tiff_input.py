"""TIFF and BigTIFF inputs read tile by tile (or strip by strip) with tifffile, for images too large to
hold decoded: only the tiles under the box being encoded are decoded, and a few are cached."""

from __future__ import annotations

import os
from collections import OrderedDict

import numpy as np
import tifffile

from tadmcodec_formats import ColourSpace, ColourType, Metadata

from ..errors import InputImageError
from .image_input import XMP_TIFF_TAG, PreparedImage
from .raster import Box

ICC_TAG = 34675
_CACHE_BYTES = 128 << 20  # decoded tiles kept for the overlapping windows that follow


class TiffRaster:
    """Pixels of the first image of a TIFF, read by box; `channels` picks the samples returned."""

    def __init__(self, tiff: tifffile.TiffFile, channels: slice | int) -> None:
        self.tiff, self.page, self.channels = tiff, tiff.pages.first, channels
        self.height, self.width = self.page.imagelength, self.page.imagewidth
        if self.page.is_tiled:
            self.segment = (self.page.tilelength, self.page.tilewidth)
        else:
            self.segment = (self.page.rowsperstrip, self.width)
        self.across = -(-self.width // self.segment[1])
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()

    def read(self, box: Box) -> np.ndarray:
        x0, y0, x1, y1 = box
        height, width = self.segment
        out = np.empty((y1 - y0, x1 - x0, self.page.samplesperpixel), np.uint8)
        for row in range(y0 // height, -(-y1 // height)):
            for column in range(x0 // width, -(-x1 // width)):
                tile = self._segment(row * self.across + column)
                tx, ty = column * width, row * height
                cx0, cy0 = max(x0, tx), max(y0, ty)
                cx1, cy1 = min(x1, tx + tile.shape[1]), min(y1, ty + tile.shape[0])
                out[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0] = tile[cy0 - ty : cy1 - ty, cx0 - tx : cx1 - tx]
        return out[..., self.channels]

    def _segment(self, index: int) -> np.ndarray:
        if index in self._cache:
            self._cache.move_to_end(index)
            return self._cache[index]
        handle = self.tiff.filehandle
        handle.seek(self.page.dataoffsets[index])
        data = handle.read(self.page.databytecounts[index])
        try:
            segment, _, _ = self.page.decode(data, index)
        except Exception as err:  # tifffile raises many types for corrupt or unsupported tiles
            raise InputImageError(f"cannot decode TIFF tile {index} of {self.tiff.filename}: {err}") from None
        if segment is None:
            raise InputImageError(f"TIFF tile {index} of {self.tiff.filename} is missing")
        tile = segment.reshape(segment.shape[-3:])
        self._cache[index] = tile
        while len(self._cache) > 1 and sum(t.nbytes for t in self._cache.values()) > _CACHE_BYTES:
            self._cache.popitem(last=False)
        return tile


def open_tiff(path: str | os.PathLike[str]) -> tuple[tifffile.TiffFile, PreparedImage] | None:
    """The first image of a TIFF as a tile-reading PreparedImage, or None when tifffile cannot stream it
    (not a TIFF, not gray/RGB with optional alpha, planar, rotated): Pillow reads those instead.
    More than 8 bits per sample is refused."""
    try:
        tiff = tifffile.TiffFile(path)
    except (tifffile.TiffFileError, ValueError, OSError):
        return None
    page = tiff.pages.first
    if page.dtype is not None and page.dtype != np.uint8:
        tiff.close()  # Pillow would read 16-bit RGB as 8-bit without a word: refuse here
        raise InputImageError(
            f"{path} has {page.bitspersample}-bit {page.dtype} samples; .tadm version 1 stores 8 bits per "
            "channel: convert the image to 8 bits before encoding"
        )
    photometric = {tifffile.PHOTOMETRIC.MINISBLACK: 1, tifffile.PHOTOMETRIC.RGB: 3}.get(page.photometric)
    streamable = (
        photometric is not None
        and page.samplesperpixel in (photometric, photometric + 1)
        and (page.samplesperpixel == 1 or page.planarconfig == tifffile.PLANARCONFIG.CONTIG)
        and page.imagedepth == 1
        and page.tags.valueof(274, 1) == 1  # orientation: Pillow applies any other value
        and len(page.dataoffsets) > 0
    )
    if not streamable:
        tiff.close()
        return None
    alpha = page.samplesperpixel == photometric + 1
    colour_type = {
        (1, False): ColourType.GRAY,
        (1, True): ColourType.GRAY_ALPHA,
        (3, False): ColourType.RGB,
        (3, True): ColourType.RGBA,
    }[photometric, alpha]
    icc = page.tags.valueof(ICC_TAG)
    xmp = page.tags.valueof(XMP_TIFF_TAG)
    metadata = Metadata(icc_profile=bytes(icc) if icc else None, xmp=bytes(xmp) if xmp else None)
    rgb = TiffRaster(tiff, slice(0, 3) if photometric == 3 else slice(0, 1))
    prepared = PreparedImage(
        rgb=_GrayAsRGB(rgb) if photometric == 1 else rgb,
        alpha=TiffRaster(tiff, photometric) if alpha else None,
        colour_type=colour_type,
        colour_space=ColourSpace.ICC if metadata.icc_profile else ColourSpace.SRGB,
        metadata=metadata,
    )
    return tiff, prepared


class _GrayAsRGB:
    """A one-channel raster read as three equal channels (the encoder works in RGB)."""

    def __init__(self, gray: TiffRaster) -> None:
        self.gray, self.width, self.height = gray, gray.width, gray.height

    def read(self, box: Box) -> np.ndarray:
        return np.repeat(self.gray.read(box), 3, axis=2)
