"""A static IIIF Image API 3.0 level-0 export of one .tadm file, for any web server: info.json, the LR
sizes and the tile pyramid as files, at the paths OpenSeadragon and other viewers request.

    OUT/info.json
    OUT/full/{w},{h}/0/default.jpg            the sizes listed (the LR and its halvings) and small levels
    OUT/{x},{y},{w},{h}/{tw},{th}/0/default.jpg  tiles of 512 (`max` for a size equal to the image's)

Every file holds the bytes the server gives for the same URL. Levels the LR covers (an LR enlargement of
at most the server's limit, 4) are written from the LR, without the model; the others come from one
streamed decode in blocks (tadm_file.TadmFile.blocks: memory follows the image's width, not its
area), each block cut into the tiles of every decoded level. The export is written into a temporary
folder beside OUT and renamed into place, so OUT is never half-written.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import OutputExistsError
from ..io.progress import Progress
from ..options import DecodeOptions
from ..tadm_file import TadmFile
from .iiif_request import Box, ImageRequest
from .info import TILE, image_info, lr_sizes, scale_factors
from .library import TadmImage, read_tadm_image
from .open_files import OpenFiles
from .render import encode, finish, from_lr, lr_serves

LR_UPSCALE_LIMIT = 4.0  # as the server's (ServerSettings.lr_upscale_limit)


def export_level0(
    source: str | Path,
    out: str | Path,
    base_url: str,
    options: DecodeOptions | None = None,
    *,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> int:
    """Write the level-0 export of `source` to the folder `out`, whose public URL is `base_url` (the
    image's IIIF id); returns the number of image files written."""
    out = Path(out)
    if out.exists() and not overwrite:
        raise OutputExistsError(f"{out} exists: pass overwrite (--overwrite) to replace it")
    image = read_tadm_image(Path(source), OpenFiles(options or DecodeOptions()))
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        info = image_info(image, base_url.rstrip("/"), None)
        (staging / "info.json").write_text(json.dumps(info, indent=1))
        written = _write_lr_files(image, staging) + _write_decoded_tiles(image, staging, progress)
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return written


def tile_requests(width: int, height: int, factor: int) -> Iterator[ImageRequest]:
    """The requests a viewer makes for one level (scale factor) of the pyramid, as OpenSeadragon builds
    them for IIIF 3: the whole level as `full/w,h` when it fits one tile, else tiles of TILE pixels."""
    level = (math.ceil(width / factor), math.ceil(height / factor))
    if level[0] <= TILE and level[1] <= TILE:
        yield ImageRequest((0, 0, width, height), level, False, 0, "default", "jpg")
        return
    span = TILE * factor
    for y in range(0, height, span):
        for x in range(0, width, span):
            box = (x, y, min(x + span, width), min(y + span, height))
            size = (min(TILE, level[0] - x // factor), min(TILE, level[1] - y // factor))
            yield ImageRequest(box, size, False, 0, "default", "jpg")


def request_path(request: ImageRequest, width: int, height: int) -> str:
    """The URL path below the image's id, as a viewer writes it (`full`, `max` where they apply)."""
    x0, y0, x1, y1 = request.region
    whole = request.region == (0, 0, width, height)
    region = "full" if whole else f"{x0},{y0},{x1 - x0},{y1 - y0}"
    size = "max" if request.size == (width, height) else f"{request.size[0]},{request.size[1]}"
    return f"{region}/{size}/0/default.jpg"


def _write(staging: Path, request: ImageRequest, image: TadmImage, pixels: Image.Image) -> None:
    path = staging / request_path(request, image.width, image.height)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode(finish(pixels, request), "jpg", image.icc_profile))


def _write_lr_files(image: TadmImage, staging: Path) -> int:
    """The listed sizes and every level the LR covers."""
    requests = [
        ImageRequest((0, 0, image.width, image.height), (s["width"], s["height"]), False, 0, "default", "jpg")
        for s in lr_sizes(image.width, image.height, image.lr_scale)
    ]
    for factor in scale_factors(image.width, image.height):
        requests += [r for r in tile_requests(image.width, image.height, factor) if r not in requests]
    count = 0
    for request in requests:
        if lr_serves(image, request, LR_UPSCALE_LIMIT):
            _write(staging, request, image, from_lr(image, request))
            count += 1
    return count


def _write_decoded_tiles(image: TadmImage, staging: Path, progress: Progress | None) -> int:
    """The levels the LR does not cover, from one streamed decode in blocks of the largest such level's
    tile span."""
    levels = {
        factor: [
            r for r in tile_requests(image.width, image.height, factor) if not lr_serves(image, r, LR_UPSCALE_LIMIT)
        ]
        for factor in scale_factors(image.width, image.height)
    }
    levels = {factor: requests for factor, requests in levels.items() if requests}
    if not levels:
        return 0
    block = TILE * max(levels)
    count = 0
    with TadmFile(image.path, image.files.options) as file:
        for box, pixels in file.blocks(size=block, progress=progress):
            for requests in levels.values():
                for request in requests:
                    if _inside(request.region, box):
                        _write(staging, request, image, _crop(pixels, box, request.region))
                        count += 1
    return count


def _inside(region: Box, block: Box) -> bool:
    return block[0] <= region[0] and block[1] <= region[1] and region[2] <= block[2] and region[3] <= block[3]


def _crop(pixels: np.ndarray, block: Box, region: Box) -> Image.Image:
    x0, y0, x1, y1 = (region[0] - block[0], region[1] - block[1], region[2] - block[0], region[3] - block[1])
    part = pixels[y0:y1, x0:x1]
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[part.shape[2]]
    return Image.fromarray(np.ascontiguousarray(part[..., 0] if part.shape[2] == 1 else part), mode)
