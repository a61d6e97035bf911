"""An open .tadm file: the header, metadata and thumbnail without torch; pixels decoded on demand.

    with tadmcodec.open("scan.tadm", detail=0.3) as image:
        image.header.width, image.metadata.icc_profile
        image.thumbnail()                 # the stored LR: no model, no torch
        image.decode(box=(0, 0, 512, 512))  # a Pillow image of that box (left, upper, right, lower)
        image.save("scan.tif")            # PNG, JPEG, WebP, or a streamed pyramidal BigTIFF

The file is read once: its reader stays open until close(), and the model loads on the first decode.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
from PIL import Image

from tadmcodec_formats import MAX_TIMESTEP, Header, LimitExceededError, Metadata, PatchGrid, TadmReader

from .errors import TadmError
from .io.image_input import channels_last, lr_thumbnail, stored_pixels, to_pil
from .io.raster import Box
from .options import DecodeOptions, with_settings
from .pipeline.networks import to_uint8_images

if TYPE_CHECKING:
    from .io.progress import Progress
    from .pipeline.image_decoder import ImageDecoder
    from .pipeline.patch_renderer import PatchRenderer
    from .pipeline.texture_stage import TexturedRenderer

Source = str | os.PathLike[str] | bytes | BinaryIO
KEPT_BOX_PIXELS = 2048 * 2048  # the largest box keep_patches() decodes from its kept patches


def dial_timesteps(grid: PatchGrid, scale: float = 1.0, fixed: int | None = None) -> PatchGrid:
    """The fidelity/realism dial: every stored timestep times `scale`, or one `fixed` timestep for every
    patch (lower timesteps favour fidelity, higher ones generated texture)."""
    steps = np.full_like(grid.timesteps, fixed) if fixed is not None else np.round(grid.timesteps * scale)
    return PatchGrid(grid.patch_size, grid.overlap, np.clip(steps, 0, MAX_TIMESTEP))


class TadmFile:
    """One open .tadm file (see the module docstring), decoded with the DecodeOptions given at opening
    (the device and runtime the model runs on, the timestep and detail dials)."""

    def __init__(self, source: Source | TadmReader, options: DecodeOptions | None = None) -> None:
        self.options = options or DecodeOptions()
        self._owns_reader = not isinstance(source, TadmReader)
        self._reader = TadmReader(source) if self._owns_reader else source
        self._decoder: ImageDecoder | None = None
        self._kept: tuple[PatchRenderer | TexturedRenderer, int] | None = None

    @property
    def header(self) -> Header:
        return self._reader.header

    @property
    def metadata(self) -> Metadata:
        return self._reader.metadata

    @property
    def size(self) -> tuple[int, int]:
        return self.header.width, self.header.height

    @property
    def patches(self) -> PatchGrid:
        """The patch grid with the timesteps the decoder uses (the stored ones, turned by the dial)."""
        return dial_timesteps(self._reader.read_patches(), self.options.timestep_scale, self.options.timestep)

    def thumbnail(self, size: int | None = None) -> Image.Image:
        """The stored LR image, 16x or 32x smaller, in the file's mode: no model, no torch. With `size`,
        fitted within size x size (never enlarged) in bounded memory: each LR tile is box-reduced by the
        largest power of two that keeps the result at least `size` (and divides the tile size) before the
        final Lanczos fit, so a huge LR is never held whole. Without it, an LR above the in-memory limit
        (check_in_memory_size) is refused."""
        header = self.header
        if size is not None and size <= 0:
            raise TadmError(f"thumbnail size {size}: give a positive number of pixels")
        factor = 1
        if size is not None:
            while (
                max(header.lr_width, header.lr_height) // (2 * factor) >= size
                and header.tile_width % (2 * factor) == 0
                and header.tile_height % (2 * factor) == 0
            ):
                factor *= 2
        check_in_memory_size((0, 0, -(-header.lr_width // factor), -(-header.lr_height // factor)))
        lr = self._reader.read_lr() if factor == 1 else self._reduced_lr(factor)
        image = lr_thumbnail(lr, header.colour_type)
        if size is not None:
            image.thumbnail((size, size), Image.Resampling.LANCZOS)
        return image

    def _reduced_lr(self, factor: int) -> np.ndarray:
        """The LR box-reduced by `factor` (a divisor of the tile size), one tile at a time."""
        header = self._reader.header
        out = np.empty((-(-header.lr_height // factor), -(-header.lr_width // factor), header.lr_channels), np.uint8)
        for index in range(header.tiles_x * header.tiles_y):
            x0, y0, _, _ = header.lr_tile_box(index)
            tile = self._reader.read_lr_tile(index)
            height, width, channels = tile.shape
            padded = np.pad(tile, ((0, -height % factor), (0, -width % factor), (0, 0)), mode="edge")
            blocks = padded.reshape(padded.shape[0] // factor, factor, padded.shape[1] // factor, factor, channels)
            reduced = np.round(blocks.mean(axis=(1, 3))).astype(np.uint8)
            out[y0 // factor : y0 // factor + reduced.shape[0], x0 // factor : x0 // factor + reduced.shape[1]] = (
                reduced
            )
        return out

    def check_box(self, box: Box | None) -> Box:
        """The box (left, upper, right, lower) to decode: the whole image for None; a box that is empty or
        reaches outside the image is an error naming the valid range."""
        width, height = self.size
        if box is None:
            return 0, 0, width, height
        x0, y0, x1, y1 = (int(v) for v in box)
        if not (0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height):
            raise TadmError(
                f"box {tuple(box)} is empty or outside the image: need 0 <= left < right <= {width} "
                f"and 0 <= upper < lower <= {height}"
            )
        return x0, y0, x1, y1

    def decoder(self) -> ImageDecoder:
        """The decoder of the model that encoded this file on the runtime chosen (tadmcodec.runtime.decoders; loaded
        once per process), after checking that the file is complete (its end marker, nothing after it)."""
        if self._decoder is None:
            from .runtime.decoders import decoder_for_header

            self._reader.check_end()
            self._decoder = decoder_for_header(
                self.header, self.options.device, self.options.runtime, self.options.detail
            )
        return self._decoder

    def keep_patches(self, patches: int) -> None:
        """From now on, keep up to `patches` computed patches (oldest forgotten first) between decode()
        calls, for many nearby boxes (a tile server's): neighbours share their patches and latent blocks
        instead of recomputing them. Each box still equals the same box of a full decode. A box larger
        than KEPT_BOX_PIXELS is decoded streaming, as without kept patches (its float pixels and patches
        would not fit the bound)."""
        self._kept = (
            self.decoder().patch_renderer(
                _ReaderLR(self._reader), self.patches, self.options.detail, self._reader.read_patches().timesteps
            ),
            patches,
        )

    def blocks(
        self, box: Box | None = None, *, size: int = 512, progress: Progress | None = None
    ) -> Iterator[tuple[Box, np.ndarray]]:
        """(block box, (h, w, C) uint8 pixels in the stored mode) for size x size blocks of box in raster
        order, streamed: memory follows the image width, not its area."""
        box = self.check_box(box)
        for block, rgb in self.decoder().decode_blocks(
            _ReaderLR(self._reader),
            self.patches,
            box,
            size,
            progress,
            self.options.detail,
            self._reader.read_patches().timesteps,
        ):
            yield block, stored_pixels(rgb, self._reader.read_alpha(block), self.header.colour_type)

    def decode(self, box: Box | None = None, *, progress: Progress | None = None) -> Image.Image:
        """The decoded image (or box of it) in the stored mode, with the file's metadata in image.info.
        Held in memory: refused above Pillow's decompression-bomb threshold (twice Image.MAX_IMAGE_PIXELS,
        None lifts it) before anything is allocated; blocks() and save() to .tif stream instead."""
        box = self.check_box(box)
        check_in_memory_size(box)
        if self._kept is not None and (box[2] - box[0]) * (box[3] - box[1]) <= KEPT_BOX_PIXELS:
            renderer, patches = self._kept
            rgb = to_uint8_images(renderer.pixels(box, progress)[None])[0]
            renderer.trim(patches)
        else:
            rgb = self.decoder().decode(
                _ReaderLR(self._reader),
                self.patches,
                self.size,
                box,
                progress,
                self.options.detail,
                self._reader.read_patches().timesteps,
            )
        return to_pil(rgb, self._reader.read_alpha(box), self.header.colour_type, self.metadata)

    def save(
        self,
        path: str | os.PathLike[str],
        *,
        format: str | None = None,
        box: Box | None = None,
        progress: Progress | None = None,
        tile: int = 512,
    ) -> int:
        """Decode to PNG, JPEG or WebP (by extension or `format`), or stream to a tiled pyramidal BigTIFF
        (.tif, .tiff; tile x tile tiles) without holding the image; written atomically. Returns bytes written."""
        from .io.image_output import output_format, save_image

        if output_format(path, format) != "TIFF":
            return save_image(self.decode(box, progress=progress), path, format)
        from .io.tiff_output import write_pyramid_tiff

        box = self.check_box(box)
        whole = box == (0, 0, *self.size)
        thumbnail = channels_last(self.thumbnail()) if whole else None
        channels = len(self.header.colour_type.mode)
        blocks = self.blocks(box, size=tile, progress=progress)
        return write_pyramid_tiff(path, blocks, box, channels, self.metadata, thumbnail, self.header.scale, tile)

    def timestep_map(self) -> Image.Image:
        """A picture of the per-patch timesteps the decoder uses, over the upscaled thumbnail."""
        from .pipeline.timestep_map import render_timestep_map

        grid = self.patches
        backdrop = np.asarray(self.thumbnail().convert("RGB").resize(self.size))
        return render_timestep_map(
            backdrop, grid.timesteps, grid.patch_size, grid.overlap, self.size, self.header.scale
        )

    def close(self) -> None:
        if self._owns_reader:
            self._reader.close()

    def __enter__(self) -> TadmFile:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def check_in_memory_size(box: Box) -> None:
    """Refuse an in-memory decode larger than Pillow's decompression-bomb threshold."""
    limit = Image.MAX_IMAGE_PIXELS
    pixels = (box[2] - box[0]) * (box[3] - box[1])
    if limit is not None and pixels > 2 * limit:
        raise LimitExceededError(
            f"decoding {box[2] - box[0]} x {box[3] - box[1]} pixels in memory exceeds the limit of {2 * limit} "
            "(twice PIL.Image.MAX_IMAGE_PIXELS): decode a box (--box), or to .tif, which streams"
        )


class _ReaderLR:
    """The LR source of a decode: tiles read on demand from the container (a Raster)."""

    def __init__(self, reader: TadmReader) -> None:
        self.reader = reader
        self.width, self.height = reader.header.lr_width, reader.header.lr_height

    def read(self, box: Box) -> np.ndarray:
        return self.reader.read_lr(box)


def open(source: Source | TadmReader, options: DecodeOptions | None = None, **settings: Any) -> TadmFile:
    """Open a .tadm file (path, bytes, binary file, or an open TadmReader, which stays the caller's), to
    decode with `options` and any DecodeOptions fields given by name (`detail=0.3`)."""
    return TadmFile(source, with_settings(options or DecodeOptions(), settings))
