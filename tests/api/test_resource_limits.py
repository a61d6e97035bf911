"""Small hostile files cannot make the model-free commands use memory in proportion to what they
describe: a thumbnail of a huge LR is reduced tile by tile, and info/verify summarise a huge patch grid
a chunk at a time."""

from __future__ import annotations

import io
import tracemalloc

import numpy as np
import pytest
from PIL import Image

import tadmcodec
from tadmcodec_formats import (
    ColourType,
    Header,
    LimitExceededError,
    LRCodec,
    Metadata,
    PatchGrid,
    TadmReader,
    patch_count,
)
from tadmcodec_formats.writer import write_tadm


def container(lr_side: int, scale: int, patch: int, overlap: int, varied: bool = False, version: int = 2) -> bytes:
    header = Header(
        width=lr_side * scale,
        height=lr_side * scale,
        scale=scale,
        colour_type=ColourType.RGB,
        model_id="m",
        model_sha256=bytes(32),
        lr_codec=LRCodec.ZSTD_PREDICTIVE,
    )
    width, height = header.latent_size
    shape = (patch_count(height, patch, overlap), patch_count(width, patch, overlap))
    steps = np.random.default_rng(0).integers(0, 1000, shape) if varied else np.full(shape, 50)
    grid = PatchGrid(patch, overlap, steps)
    lr = np.zeros((lr_side, lr_side, 3), np.uint8)
    lr[::7] = 200  # stripes, so the reduction has something to average
    buffer = io.BytesIO()
    write_tadm(buffer, header, lr, grid, None, Metadata(), version=version)
    return buffer.getvalue()


def peak_bytes(function: object) -> int:
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_thumbnail_of_a_huge_lr_is_reduced_tile_by_tile(monkeypatch: pytest.MonkeyPatch) -> None:
    data = container(4096, 16, 32, 4)  # a 65536^2 image: its LR alone is 48 MB
    image = None

    def thumbnail() -> None:
        nonlocal image
        image = tadmcodec.read_thumbnail(data, 64)

    assert peak_bytes(thumbnail) < 8 * 2**20
    assert image.size == (64, 64)
    expected = np.asarray(Image.fromarray(TadmReader(data).read_lr()).resize((64, 64), Image.Resampling.BOX), float)
    assert np.abs(np.asarray(image, float) - expected).mean() < 3  # the same picture as reducing the whole LR
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)
    with pytest.raises(LimitExceededError, match="exceeds the limit"):
        tadmcodec.read_thumbnail(data)  # the whole LR, in memory: the decode's size policy
    assert tadmcodec.read_thumbnail(data, 64).size == (64, 64)  # reduced, it is small


@pytest.mark.parametrize(("version", "varied"), [(1, False), (2, False), (2, True)])
def test_info_and_verify_summarise_a_huge_patch_grid_in_bounded_memory(version: int, varied: bool) -> None:
    data = container(2049, 32, 8, 4, varied, version)  # a 2048 x 2048 grid: 8 MB of timesteps
    reader = TadmReader(data)
    summary = None

    def summarise() -> None:
        nonlocal summary
        summary = reader.read_patch_summary()
        reader.verify()

    stored = 2048 * 2048 * 10 // 8 if varied else 0  # the PTCH payload itself, read whole
    assert peak_bytes(summarise) < stored + 4 * 2**20
    assert (summary.cols, summary.rows) == (2048, 2048)
    if not varied:
        assert (summary.timestep_min, summary.timestep_max) == (50, 50)
        assert reader.describe()["patch_grid"]["timestep_mean"] == 50.0
    else:
        assert (summary.timestep_min, summary.timestep_max) == (0, 999)
