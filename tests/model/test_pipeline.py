"""Tiled encode/decode: any size, region = box of the full decode, batch independence, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from tadmcodec.io.raster import ArrayRaster
from tadmcodec.pipeline.geometry import patch_windows
from tadmcodec.pipeline.patch_renderer import PatchRenderer
from tadmcodec.runtime.codec import Codec
from tadmcodec.runtime.encoder import TiledEncoder


def _image(height: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:height, :width]
    smooth = np.stack([xx * 200 / max(width, 1), yy * 200 / max(height, 1), (xx + yy) % 256], axis=-1)
    return np.clip(smooth + rng.normal(0, 10, smooth.shape), 0, 255).astype(np.uint8)


# (height, width, scale) -> LR (rows, cols) and patch grid (rows, cols), by hand. The test models have
# 16-latent patches with overlap 4 (stride 12); the latent is LR * scale / 8. A side of n > 16 latents
# takes ceil((n - 16) / 12) + 1 patches, n <= 16 one patch.
GRIDS = {
    (1, 1, 16): ((1, 1), (1, 1)),  # latent 2 x 2
    (1, 37, 16): ((1, 3), (1, 1)),  # latent 2 x 6
    (23, 1, 16): ((2, 1), (1, 1)),
    (17, 33, 16): ((2, 3), (1, 1)),
    (100, 161, 16): ((7, 11), (1, 2)),  # latent 14 x 22: 22 -> ceil(6 / 12) + 1 = 2
    (300, 420, 16): ((19, 27), (3, 5)),  # latent 38 x 54: ceil(22 / 12) + 1 = 3, ceil(38 / 12) + 1 = 5
    (1, 1, 32): ((1, 1), (1, 1)),  # latent 4 x 4
    (1, 37, 32): ((1, 2), (1, 1)),
    (23, 1, 32): ((1, 1), (1, 1)),
    (17, 33, 32): ((1, 2), (1, 1)),
    (100, 161, 32): ((4, 6), (1, 2)),  # latent 16 x 24: 16 -> 1, 24 -> 2
    (300, 420, 32): ((10, 14), (3, 5)),  # latent 40 x 56: ceil(24 / 12) + 1 = 3, ceil(40 / 12) + 1 = 5
}


@pytest.mark.parametrize(("height", "width", "scale"), list(GRIDS))
def test_any_size_round_trip(height: int, width: int, scale: int, request: pytest.FixtureRequest) -> None:
    codec: Codec = request.getfixturevalue(f"codec{scale}")
    lr, grid = codec.encode(_image(height, width))
    lr_size, grid_size = GRIDS[(height, width, scale)]
    assert lr.shape == (*lr_size, 3) and lr.dtype == np.uint8
    assert (grid.rows, grid.cols) == grid_size
    assert ((grid.timesteps >= 0) & (grid.timesteps <= 999)).all()
    out = codec.decoder.decode(ArrayRaster(lr), grid, (width, height))
    assert out.shape == (height, width, 3) and out.dtype == np.uint8


def test_region_equals_the_same_box_of_the_full_decode(codec16: Codec) -> None:
    lr, grid = codec16.encode(_image(300, 420))
    full = codec16.decoder.decode(ArrayRaster(lr), grid, (420, 300))
    for box in [(0, 0, 50, 40), (130, 70, 290, 222), (401, 280, 420, 300)]:
        region = codec16.decoder.decode(ArrayRaster(lr), grid, (420, 300), box)
        assert np.array_equal(region, full[box[1] : box[3], box[0] : box[2]])


@pytest.mark.parametrize("block", [64, 100])
def test_streamed_blocks_tile_the_full_decode_exactly(codec16: Codec, block: int) -> None:
    """Blocks in raster order (with patch caching and eviction) give the full decode, pixel for pixel."""
    lr, grid = codec16.encode(_image(300, 420, seed=5))
    full = codec16.decoder.decode(ArrayRaster(lr), grid, (420, 300))
    assembled = np.zeros_like(full)
    boxes = []
    for (x0, y0, x1, y1), pixels in codec16.decoder.decode_blocks(ArrayRaster(lr), grid, (0, 0, 420, 300), block):
        assembled[y0:y1, x0:x1] = pixels
        boxes.append((x0, y0, x1, y1))
    assert boxes == sorted(boxes, key=lambda b: (b[1], b[0])) and len(boxes) == -(-420 // block) * -(-300 // block)
    assert np.array_equal(assembled, full)


class CountingProgress:
    def __init__(self) -> None:
        self.total: int | None = None
        self.done = 0

    def reset(self, total: int | None = None) -> None:
        self.total, self.done = total, 0

    def update(self, n: int = 1) -> None:
        self.done += n


def test_streaming_computes_each_patch_once_and_forgets_rows_above(codec16: Codec) -> None:
    lr, grid = codec16.encode(_image(1500, 130))
    decoder = codec16.decoder.patch_renderer(ArrayRaster(lr), grid)
    progress = CountingProgress()
    cached = []
    for _ in decoder.blocks((0, 0, 130, 1500), 64, progress):
        cached.append(len(decoder._pixels))
    assert progress.done == decoder.work((0, 0, 130, 1500)) == 2 * len(decoder.windows)
    assert max(cached) <= 4 * grid.cols + codec16.batch_size < len(decoder.windows), "cache grew with the rows"


def test_progress_totals_match_the_work_done(codec32: Codec) -> None:
    progress = CountingProgress()
    lr, grid = codec32.encode(_image(150, 250), progress)
    assert progress.done == progress.total
    codec32.decoder.decode(ArrayRaster(lr), grid, (250, 150), (10, 20, 60, 90), progress)
    assert progress.done == progress.total > 0


def test_batch_size_does_not_change_the_output(codec16: Codec) -> None:
    lr, grid = codec16.encode(_image(260, 420))
    latent_size = (lr.shape[1] * 2, lr.shape[0] * 2)
    outputs = []
    for batch in (1, 8):
        steps = TiledEncoder(codec16.model, codec16.device, batch_size=batch).timesteps(lr)
        assert np.array_equal(steps, grid.timesteps)
        decoder = PatchRenderer(codec16.decoder.networks, ArrayRaster(lr), 16, 4, steps, batch_size=batch)
        [(_, pixels)] = list(decoder.blocks((0, 0, 420, 260), 420))
        outputs.append(pixels)
    assert len(patch_windows(latent_size, 16, 4)) > 8, "the test needs several batches of 8"
    assert np.abs(outputs[0] - outputs[1]).max() < 1e-4


def test_decoding_twice_is_bit_identical(codec32: Codec) -> None:
    lr, grid = codec32.encode(_image(150, 250))
    first = codec32.decoder.decode(ArrayRaster(lr), grid, (250, 150))
    second = codec32.decoder.decode(ArrayRaster(lr), grid, (250, 150))
    assert np.array_equal(first, second)


def test_timesteps_come_from_the_quantized_lr(codec16: Codec) -> None:
    """Re-predicting from the stored LR alone reproduces the stored timesteps exactly."""
    lr, grid = codec16.encode(_image(180, 260, seed=3))
    assert np.array_equal(TiledEncoder(codec16.model, codec16.device).timesteps(lr.copy()), grid.timesteps)


def test_no_step_at_patch_borders_on_a_smooth_image(codec16: Codec) -> None:
    """Blending ramps leave no jump at patch borders larger than the image's own variation elsewhere."""
    height, width = 200, 360
    yy, xx = np.mgrid[:height, :width]
    smooth = np.stack([40 + xx * 0.5, 60 + yy * 0.6, 120 + (xx + yy) * 0.2], axis=-1).astype(np.uint8)
    lr, grid = codec16.encode(smooth)
    out = codec16.decoder.decode(ArrayRaster(lr), grid, (width, height)).astype(float)
    step = np.abs(np.diff(out, axis=1)).mean(axis=(0, 2))  # mean jump between neighbouring columns
    borders = sorted({v * 8 for w in patch_windows((lr.shape[1] * 2, lr.shape[0] * 2), 16, 4) for v in w.box[::2]})
    border_columns = [b - 1 for b in borders if 0 < b < width]
    inner = np.delete(step, border_columns)
    assert border_columns
    assert step[border_columns].max() <= 2 * np.percentile(inner, 99) + 1.0
