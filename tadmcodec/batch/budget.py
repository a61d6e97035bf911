"""The work budget of one file (`--max-pixels`): a small hostile file can describe an image that keeps a
worker busy for hours, so each file's work is checked against a budget before it starts.

Work is counted in the pixels the codec computes, not the pixels the image has: both directions run on
whole square patch windows (256 x 256 pixels for the shipped models), so a 65535 x 1 image costs what a
65536 x 256 one does (it took 150 s against 3 s for 768 x 512; issue 30). The default budget is Pillow's
decompression-bomb policy, twice PIL.Image.MAX_IMAGE_PIXELS (refused above that); 0 lifts it.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from PIL import Image

from tadmcodec_formats import LATENT_FACTOR, LimitExceededError, TadmError, TadmReader

from ..io.raster import Box
from ..options import DecodeOptions, EncodeOptions
from ..store.folder import read_config
from ..store.registry import default_models, resolve_model


def computed_pixels(width: int, height: int, patch_pixels: int) -> int:
    """The pixels of the image padded to whole patch windows of patch_pixels x patch_pixels."""
    return -(-width // patch_pixels) * -(-height // patch_pixels) * patch_pixels * patch_pixels


def default_budget() -> int:
    """Pillow's refusal threshold, read when asked (0, no limit, when Pillow's check is off)."""
    return 0 if Image.MAX_IMAGE_PIXELS is None else 2 * Image.MAX_IMAGE_PIXELS


def file_work(
    source: Path, coding: EncodeOptions | DecodeOptions, box: Box | None = None
) -> tuple[int, int, int] | None:
    """(width, height, computed pixels) of coding one input: an image by the encoding model's patch, a
    .tadm file (or the box of it decoded) by the patch grid it stores. Reads headers only; None when they
    cannot be read (the work itself then says why, in its own words)."""
    try:
        if isinstance(coding, EncodeOptions):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(source) as image:
                    width, height = image.size
            name = coding.model or default_models()[coding.scale]
            patch = read_config(resolve_model(name, allow_path=True)).patch_size
        else:
            with TadmReader(source) as reader:
                width, height = reader.header.width, reader.header.height
                patch = reader.read_patch_summary().patch_size
            if box is not None:
                width, height = box[2] - box[0], box[3] - box[1]
    except (OSError, TadmError, ValueError, Image.DecompressionBombError):
        return None
    return width, height, computed_pixels(width, height, patch * LATENT_FACTOR)


def check_budget(
    source: Path, coding: EncodeOptions | DecodeOptions, max_pixels: int | None, box: Box | None = None
) -> None:
    """Refuse, in one line, a file (or the box of it decoded) whose work exceeds max_pixels (None: the
    default budget; 0: none)."""
    budget = default_budget() if max_pixels is None else max_pixels
    if not budget:
        return
    found = file_work(source, coding, box)
    if found is None:
        return
    width, height, work = found
    if work > budget:
        raise LimitExceededError(
            f"{source}: {width} x {height} pixels cost {work / 1e6:.0f} MP of work (whole patch windows), "
            f"above the budget of {budget / 1e6:.0f} MP (--max-pixels; 0 lifts it)"
        )
