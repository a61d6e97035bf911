"""The Python API: encode images to .tadm, open and decode them (whole or a box), read headers and
thumbnails. How to encode and decode is an EncodeOptions / DecodeOptions (tadmcodec.options), or its
fields by keyword (`detail=0.3`). Importing this module does not import torch; the model loads on the
first encode or decode.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
from PIL import Image

from tadmcodec_formats import Header, Metadata, TadmReader, TadmWriter

from .errors import InputImageError, LargeImageWarning
from .io.image_input import PreparedImage, prepare
from .io.raster import Box
from .options import DecodeOptions, EncodeOptions, with_settings
from .runtime.extras import require_torch
from .tadm_file import Source, TadmFile

if TYPE_CHECKING:
    from .io.progress import Progress
    from .runtime.codec import Codec

ImageInput = str | os.PathLike[str] | Image.Image | np.ndarray
_ARRAY_MODES = {2: "L", 3: "RGB", 4: "RGBA"}


@dataclass(frozen=True)
class EncodeResult:
    """What encode() wrote: sizes, bytes (of which metadata carried from the input), bits per pixel, time."""

    width: int
    height: int
    bytes_written: int
    seconds: float
    model: str
    metadata_bytes: int = 0

    @property
    def bpp(self) -> float:
        return 8.0 * self.bytes_written / (self.width * self.height)

    @property
    def payload_bpp(self) -> float:
        """Bits per pixel without the carried metadata (EXIF, ICC, XMP, text)."""
        return 8.0 * (self.bytes_written - self.metadata_bytes) / (self.width * self.height)


def load_image(image: ImageInput) -> Image.Image:
    """A Pillow image from a path, a Pillow image or a uint8 array (H, W), (H, W, 3) or (H, W, 4)."""
    if isinstance(image, Image.Image):
        return image
    if isinstance(image, np.ndarray):
        channels = 2 if image.ndim == 2 else image.ndim + image.shape[-1] - 3 if image.ndim == 3 else 0
        if image.dtype != np.uint8 or channels not in _ARRAY_MODES or (image.ndim == 3 and image.shape[-1] == 2):
            raise InputImageError(
                f"arrays must be uint8 (H, W), (H, W, 3) or (H, W, 4), got {image.dtype} {image.shape}"
            )
        return Image.fromarray(image, _ARRAY_MODES[2 if image.ndim == 2 else image.shape[-1]])
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", Image.DecompressionBombWarning)
            opened = Image.open(image)
        if caught:  # Pillow's warning threshold: say it in one line of our own
            warnings.warn(
                f"{image} is {opened.width} x {opened.height} ({opened.width * opened.height / 1e6:.0f} MP), "
                f"above PIL.Image.MAX_IMAGE_PIXELS ({Image.MAX_IMAGE_PIXELS / 1e6:.0f} MP): encoding it "
                "takes long; twice that is refused",
                LargeImageWarning,
                stacklevel=2,
            )
        deep = [tile.args for tile in opened.tile if ";16" in str(tile.args)]
        if deep:  # Pillow reads 16-bit RGB(A) PNGs as 8-bit: refuse rather than truncate
            raise InputImageError(f"{image} has 16 bits per sample ({deep[0]}); .tadm version 1 stores 8 bits")
        opened.load()
        return opened
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise InputImageError(f"cannot read image {image}: {err}") from None


def check_model(model: str | None, scale: int) -> str:
    """The folder of the model to encode with (default: the shipped model for the scale), checked against
    the scale from its config alone, before torch is imported: the one place an encode resolves it."""
    from .store.registry import DEFAULT_MODELS, model_scale, resolve_model

    if type(scale) is not int or scale not in DEFAULT_MODELS:
        raise InputImageError(f"scale must be the integer 16 or 32, got {scale!r}")
    name = model or DEFAULT_MODELS[scale]
    folder = resolve_model(name, allow_path=True)
    declared = model_scale(folder)
    if declared != scale:
        raise InputImageError(f"model {name} rescales by {declared}, not {scale}")
    return str(folder)


def load_codec(model: str | None, scale: int, device: str | None) -> Codec:
    """The codec for a model name or folder (default: the shipped model for the scale)."""
    require_torch("encoding")
    from .runtime.codec import Codec

    return Codec.load(check_model(model, scale), device, allow_path=True)


def encode(
    image: ImageInput,
    output: str | os.PathLike[str] | BinaryIO,
    options: EncodeOptions | None = None,
    *,
    progress: Progress | None = None,
    **settings: Any,
) -> EncodeResult:
    """Encode an image to a .tadm file (written atomically when `output` is a path) with `options` and any
    EncodeOptions fields given by name (`scale=32`). EXIF, ICC, XMP and text are carried unless
    strip_metadata. Tiled 8-bit TIFF and BigTIFF paths are read tile by tile, so their size is not
    limited by memory."""
    options = with_settings(options or EncodeOptions(), settings)
    start = time.perf_counter()
    if isinstance(output, (str, os.PathLike)) and not Path(output).resolve().parent.is_dir():
        raise InputImageError(f"cannot write {output}: the folder {Path(output).parent} does not exist")
    require_torch("encoding")
    folder = check_model(options.model, options.scale)  # before reading the input or importing torch
    with _open_input(image) as prepared:
        metadata = Metadata() if options.strip_metadata else prepared.metadata
        from .runtime.codec import Codec

        codec = Codec.load(folder, options.device, allow_path=True)
        lr, grid = codec.encode(prepared.rgb, progress)
        width, height = prepared.size
        header = Header(
            width=width,
            height=height,
            scale=codec.scale,
            colour_type=prepared.colour_type,
            model_id=codec.model.name,
            model_sha256=codec.model.digest,
            colour_space=prepared.colour_space,
        )
        with TadmWriter(output, header, metadata, version=options.format_version) as writer:
            writer.write_image(lr, grid, prepared.alpha)
    written = Path(output).stat().st_size if isinstance(output, (str, os.PathLike)) else output.tell()
    return EncodeResult(width, height, written, time.perf_counter() - start, codec.model.name, metadata.stored_bytes)


@contextmanager
def _open_input(image: ImageInput) -> Iterator[PreparedImage]:
    """The prepared input: a streaming TIFF reader when tifffile can stream the file, else Pillow's pixels."""
    opened = None
    if isinstance(image, (str, os.PathLike)) and Path(image).suffix.lower() in (".tif", ".tiff"):
        from .io.tiff_input import open_tiff

        opened = open_tiff(image)
    if opened is None:
        yield prepare(load_image(image))
        return
    tiff, prepared = opened
    with tiff:
        yield prepared


def decode(
    source: Source | TadmReader,
    options: DecodeOptions | None = None,
    *,
    box: Box | None = None,
    progress: Progress | None = None,
    as_array: bool = False,
    **settings: Any,
) -> Image.Image | np.ndarray:
    """Decode a .tadm file, or the box (left, upper, right, lower) of it, to a Pillow image in the stored
    mode with its metadata, or with as_array to a uint8 array (H, W) or (H, W, C); with `options` and
    any DecodeOptions fields given by name (`detail=0.3`, `runtime="onnx"`)."""
    with TadmFile(source, with_settings(options or DecodeOptions(), settings)) as opened:
        image = opened.decode(box, progress=progress)
    return np.asarray(image) if as_array else image


def decode_to_file(
    source: Source,
    output: str | os.PathLike[str],
    options: DecodeOptions | None = None,
    *,
    box: Box | None = None,
    progress: Progress | None = None,
    format: str | None = None,
    tile: int = 512,
    **settings: Any,
) -> int:
    """Decode to PNG, JPEG or WebP (by extension or `format`), or stream to a tiled pyramidal BigTIFF
    (.tif, .tiff) without holding the image; written atomically; options as decode() takes them.
    Returns the bytes written."""
    with TadmFile(source, with_settings(options or DecodeOptions(), settings)) as opened:
        return opened.save(output, format=format, box=box, progress=progress, tile=tile)


def read_header(source: Source) -> Header:
    """The header of a .tadm file (reads a few hundred bytes; no torch)."""
    with TadmReader(source) as reader:
        return reader.header


def read_thumbnail(source: Source, size: int | None = None) -> Image.Image:
    """The stored LR image, 16x or 32x smaller, in the file's mode, with no model run (no torch); with
    size, fitted within size x size in bounded memory (TadmFile.thumbnail)."""
    with TadmFile(source) as opened:
        return opened.thumbnail(size)
