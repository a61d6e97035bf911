"""The Python API: encode images to .tadm, decode them (whole or a region), read headers and thumbnails.

Importing this module does not import torch; encode() and decode() load the model on first use.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np
from PIL import Image

from tadmcodec_formats import Header, PatchGrid, TadmReader, TadmWriter, UnknownModelError

from .errors import InputImageError, TadmError
from .image_io import PreparedImage, area_average, channels_last, lr_thumbnail, prepare, stored_pixels, to_pil

if TYPE_CHECKING:
    from .codec import Codec
    from .progress import Progress

ImageInput = str | os.PathLike[str] | Image.Image | np.ndarray
Source = str | os.PathLike[str] | bytes | BinaryIO
Region = tuple[int, int, int, int]  # x, y, width, height
_ARRAY_MODES = {2: "L", 3: "RGB", 4: "RGBA"}


@dataclass(frozen=True)
class EncodeResult:
    """What encode() wrote: sizes, bytes, bits per pixel and time."""

    width: int
    height: int
    bytes_written: int
    seconds: float
    model: str

    @property
    def bpp(self) -> float:
        return 8.0 * self.bytes_written / (self.width * self.height)


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
        opened = Image.open(image)
        opened.load()
        return opened
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise InputImageError(f"cannot read image {image}: {err}") from None


def load_codec(model: str | None, scale: int, device: str | None) -> Codec:
    """The codec for a model name or folder (default: the shipped model for the scale)."""
    from .codec import Codec
    from .registry import DEFAULT_MODELS

    if model is None and scale not in DEFAULT_MODELS:
        raise InputImageError(f"scale {scale} is not supported: use 16 or 32")
    codec = Codec.load(model or DEFAULT_MODELS[scale], device)
    if codec.scale != scale:
        raise InputImageError(f"model {model} rescales by {codec.scale}, not {scale}")
    return codec


def encode(
    image: ImageInput,
    output: str | os.PathLike[str] | BinaryIO,
    scale: int = 16,
    model: str | None = None,
    device: str | None = None,
    progress: Progress | None = None,
) -> EncodeResult:
    """Encode an image to a .tadm file (written atomically when `output` is a path).

    Tiled 8-bit TIFF and BigTIFF paths are read tile by tile, so their size is not limited by memory.
    """
    start = time.perf_counter()
    with _open_input(image) as prepared:
        codec = load_codec(model, scale, device)
        lr, grid = codec.encode(prepared.rgb, progress)
        width, height = prepared.size
        header = Header(
            width=width, height=height, scale=scale, colour_type=prepared.colour_type, model_id=codec.model.name,
            model_sha256=codec.model.digest, colour_space=prepared.colour_space,
        )  # fmt: skip
        _write_container(output, header, lr, grid, prepared)
    written = Path(output).stat().st_size if isinstance(output, (str, os.PathLike)) else output.tell()
    return EncodeResult(width, height, written, time.perf_counter() - start, codec.model.name)


@contextmanager
def _open_input(image: ImageInput) -> Iterator[PreparedImage]:
    """The prepared input: a streaming TIFF reader when tifffile can stream the file, else Pillow's pixels."""
    opened = None
    if isinstance(image, (str, os.PathLike)) and Path(image).suffix.lower() in (".tif", ".tiff"):
        from .tiff_input import open_tiff

        opened = open_tiff(image)
    if opened is None:
        yield prepare(load_image(image))
        return
    tiff, prepared = opened
    with tiff:
        yield prepared


def _write_container(output: str | os.PathLike[str] | BinaryIO, header: Header, lr: np.ndarray, grid: PatchGrid,
                     prepared: PreparedImage) -> None:  # fmt: skip
    """Write LR tiles (with the area-averaged alpha), the patch grid and the alpha tiles, tile by tile."""
    with TadmWriter(output, header, prepared.metadata) as writer:
        for index in range(header.tile_count):
            x0, y0, x1, y1 = header.lr_tile_box(index)
            tile = lr[y0:y1, x0:x1]
            if prepared.alpha is not None:
                s = header.scale
                alpha = prepared.alpha.read((x0 * s, y0 * s, min(x1 * s, header.width), min(y1 * s, header.height)))
                tile = np.concatenate([tile, area_average(alpha, s)[..., None]], axis=2)
            writer.write_lr_tile(tile)
        writer.write_patches(grid)
        if prepared.alpha is not None:
            for index in range(header.tile_count):
                writer.write_alpha_tile(prepared.alpha.read(header.alpha_tile_box(index)))


@dataclass
class _ReaderLR:
    """The LR source of a decode: tiles read on demand from the container."""

    reader: TadmReader

    @property
    def width(self) -> int:
        return self.reader.header.lr_width

    @property
    def height(self) -> int:
        return self.reader.header.lr_height

    def read(self, box: tuple[int, int, int, int]) -> np.ndarray:
        return self.reader.read_lr(box)


def adjust_timesteps(grid: PatchGrid, scale: float = 1.0, fixed: int | None = None) -> PatchGrid:
    """The fidelity/realism dial: a fixed timestep, or the stored ones times `scale` (lower = more fidelity)."""
    steps = np.full_like(grid.timesteps, fixed) if fixed is not None else np.round(grid.timesteps * scale)
    return PatchGrid(grid.patch_size, grid.overlap, np.clip(steps, 0, 999))


def decode(
    source: Source | TadmReader,
    region: Region | None = None,
    device: str | None = None,
    timestep_scale: float = 1.0,
    timestep: int | None = None,
    progress: Progress | None = None,
    as_array: bool = False,
) -> Image.Image | np.ndarray:
    """Decode a .tadm file (or the region x, y, width, height of it) to a Pillow image with its metadata,
    or with as_array to a uint8 array (H, W) or (H, W, C) in the stored mode.

    `source` may also be an open TadmReader (the Pillow plugin keeps one per image).
    """
    if as_array:
        return np.asarray(decode(source, region, device, timestep_scale, timestep, progress))
    if not isinstance(source, TadmReader):
        with TadmReader(source) as reader:
            return decode(reader, region, device, timestep_scale, timestep, progress)
    header = source.header
    codec = codec_for(header, device)
    box = _region_box(region, header)
    grid = adjust_timesteps(source.read_patches(), timestep_scale, timestep)
    rgb = codec.decode(_ReaderLR(source), grid, (header.width, header.height), box, progress)
    return to_pil(rgb, source.read_alpha(box), header.colour_type, source.metadata)


def decode_to_file(
    source: Source,
    output: str | os.PathLike[str],
    region: Region | None = None,
    device: str | None = None,
    timestep_scale: float = 1.0,
    timestep: int | None = None,
    progress: Progress | None = None,
    output_format: str | None = None,
    tile: int = 512,
) -> int:
    """Decode to PNG, JPEG or WebP (by extension or `output_format`), or stream it to a tiled pyramidal
    BigTIFF (.tif, .tiff; tile x tile tiles) without ever holding the image; written atomically.
    Returns the bytes written."""
    from .image_output import output_format as format_for
    from .image_output import save_image

    if format_for(output, output_format) != "TIFF":
        return save_image(decode(source, region, device, timestep_scale, timestep, progress), output, output_format)
    from .tiff_output import write_pyramid_tiff

    with TadmReader(source) as reader:
        header = reader.header
        codec = codec_for(header, device)
        box = _region_box(region, header)
        grid = adjust_timesteps(reader.read_patches(), timestep_scale, timestep)
        blocks = (
            (block, stored_pixels(rgb, reader.read_alpha(block), header.colour_type))
            for block, rgb in codec.decode_blocks(_ReaderLR(reader), grid, box, tile, progress)
        )
        whole = box == (0, 0, header.width, header.height)
        thumbnail = channels_last(lr_thumbnail(reader.read_lr(), header.colour_type)) if whole else None
        channels = len(header.colour_type.mode)
        return write_pyramid_tiff(output, blocks, box, channels, reader.metadata, thumbnail, header.scale, tile)


def codec_for(header: Header, device: str | None) -> Codec:
    """The codec of the model that encoded a file; refuses a missing or different model."""
    from .codec import Codec

    try:
        codec = Codec.load(header.model_id, device)
    except UnknownModelError as err:
        message = f"the file was encoded with model {header.model_id!r}, which is not installed: {err}"
        raise UnknownModelError(message) from None
    if codec.model.digest != header.model_sha256:
        raise UnknownModelError(
            f"the file was encoded with model {header.model_id!r} sha256 {header.model_sha256.hex()[:16]}..., "
            f"but the installed {header.model_id!r} has sha256 {codec.model.digest.hex()[:16]}...: "
            "install the model version that encoded it"
        )
    return codec


def _region_box(region: Region | None, header: Header) -> tuple[int, int, int, int]:
    if region is None:
        return 0, 0, header.width, header.height
    x, y, width, height = (int(v) for v in region)
    if width <= 0 or height <= 0 or x < 0 or y < 0 or x + width > header.width or y + height > header.height:
        raise TadmError(f"region {region} is empty or outside the {header.width}x{header.height} image")
    return x, y, x + width, y + height


def read_header(source: Source) -> Header:
    """The header of a .tadm file (reads a few hundred bytes; no torch)."""
    with TadmReader(source) as reader:
        return reader.header


def read_thumbnail(source: Source) -> Image.Image:
    """The stored LR image, 16x or 32x smaller, in the file's mode, with no model run (no torch)."""
    with TadmReader(source) as reader:
        return lr_thumbnail(reader.read_lr(), reader.header.colour_type)
