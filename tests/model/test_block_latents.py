"""z_hat per canonical latent block (a model's latent_block): a function of the block grid alone, so
region decodes stay exact; computed once per block, from the block's LR crop with the halo; the cache
follows the image width; models without it decode per patch as before."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tadmcodec.io.raster import ArrayRaster
from tadmcodec.models.tadm import TADMModel
from tadmcodec.nn.pixels import lr_to_tensor
from tadmcodec.pipeline.geometry import patch_windows
from tadmcodec.pipeline.latent_patches import RescaledLatents
from tadmcodec.runtime.codec import Codec
from tests.model.test_pipeline import _image


def test_region_and_streamed_blocks_equal_the_full_decode(codec16_blocks: Codec) -> None:
    lr, grid = codec16_blocks.encode(_image(300, 420, seed=2))
    full = codec16_blocks.decoder.decode(ArrayRaster(lr), grid, (420, 300))
    for box in [(0, 0, 50, 40), (130, 70, 290, 222), (401, 280, 420, 300)]:
        region = codec16_blocks.decoder.decode(ArrayRaster(lr), grid, (420, 300), box)
        assert np.array_equal(region, full[box[1] : box[3], box[0] : box[2]])
    assembled = np.zeros_like(full)
    for (x0, y0, x1, y1), pixels in codec16_blocks.decoder.decode_blocks(ArrayRaster(lr), grid, (0, 0, 420, 300), 72):
        assembled[y0:y1, x0:x1] = pixels
    assert np.array_equal(assembled, full)


def test_a_patch_is_cut_from_its_block_computed_on_the_lr_with_the_halo(codec16_blocks: Codec) -> None:
    """Inside one block, z_hat is G_d and the VAE on the block's edge-replicated LR crop, cut: the
    expectation is computed here from the model's own rescaled_latent on np.pad, not the pipeline."""
    model = codec16_blocks.model
    halo, step, block = model.config.lr_halo, model.scale // 8, model.config.latent_block
    lr = _image(block // step, block // step, seed=4)  # exactly one block
    windows = patch_windows((block, block), model.config.patch_size, model.config.patch_overlap)
    padded = np.pad(lr, ((halo, halo), (halo, halo), (0, 0)), mode="edge")
    with torch.no_grad():
        whole = model.rescaled_latent(lr_to_tensor(padded[None], codec16_blocks.device))[0]
        inner = whole[:, halo * step : halo * step + block, halo * step : halo * step + block]
        cut = torch.from_numpy(RescaledLatents(codec16_blocks.decoder.networks, ArrayRaster(lr))(windows))
    for window, z_hat in zip(windows, cut, strict=True):
        x0, y0, x1, y1 = window.box
        visible = (slice(None), slice(y0, min(y1, block)), slice(x0, min(x1, block)))
        assert torch.equal(z_hat[:, : min(y1, block) - y0, : min(x1, block) - x0], inner[visible])


@pytest.fixture
def z_hat_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list, int]]:
    """Every z_hat computation from here on: (its latent boxes, the blocks cached when it ran)."""
    calls: list[tuple[list, int]] = []
    original = RescaledLatents._compute

    def recording(self: RescaledLatents, boxes: list) -> np.ndarray:
        calls.append((list(boxes), len(self._blocks)))
        return original(self, boxes)

    monkeypatch.setattr(RescaledLatents, "_compute", recording)
    return calls


def test_each_block_is_computed_once_and_the_cache_does_not_grow_with_the_rows(
    codec16_blocks: Codec, z_hat_calls: list[tuple[list, int]]
) -> None:
    peaks = []
    for height in (1500, 3000):
        lr, grid = codec16_blocks.encode(_image(height, 130))  # this test model predicts timesteps from z_hat too
        z_hat_calls.clear()
        for _ in codec16_blocks.decoder.decode_blocks(ArrayRaster(lr), grid, (0, 0, 130, height), 64):
            pass
        computed = [box for boxes, _ in z_hat_calls for box in boxes]
        assert len(computed) == len(set(computed)), "a block was computed twice"
        peaks.append(max(cached for _, cached in z_hat_calls))
    assert peaks[0] == peaks[1] < len(computed) / 4, f"the block cache grew with the rows: {peaks}"


def test_blocks_stop_at_the_patch_grids_extent(codec16_blocks: Codec, z_hat_calls: list[tuple[list, int]]) -> None:
    """A 12-latent block grid over a 20 x 8 latent (160 x 64 pixels; patches of 16 reach 20 x 16): the
    last column of blocks is 8 wide, the last row 4 high, never a whole 12 x 12 beyond the patches."""
    lr, grid = codec16_blocks.encode(_image(64, 160))
    z_hat_calls.clear()
    codec16_blocks.decoder.decode(ArrayRaster(lr), grid, (160, 64))
    computed = sorted(box for boxes, _ in z_hat_calls for box in boxes)
    assert computed == [(0, 0, 12, 12), (0, 12, 12, 16), (12, 0, 20, 12), (12, 12, 20, 16)]


def test_models_without_latent_blocks_compute_z_hat_per_patch(
    codec16: Codec, z_hat_calls: list[tuple[list, int]]
) -> None:
    lr, grid = codec16.encode(_image(100, 161))
    codec16.decoder.decode(ArrayRaster(lr), grid, (161, 100))
    sizes = [len(boxes) for boxes, _ in z_hat_calls]
    assert codec16.model.config.latent_block == 0 and sizes and max(sizes) > 1  # patches come in batches


@pytest.mark.parametrize("block", [3, -2])
def test_latent_block_must_be_a_positive_multiple_of_the_lr_step(block: int) -> None:
    with pytest.raises(ValueError, match="latent"):
        TADMModel(scale=16, latent_block=block)


def test_a_crop_wholly_outside_the_lr_repeats_its_nearest_edge() -> None:
    """Blocks at the latent's far edge crop LR boxes that may lie wholly beyond it."""
    from tadmcodec.io.raster import crop_replicate

    pixels = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    corner = crop_replicate(ArrayRaster(pixels), (7, -3, 9, -1))  # right of and above the image
    assert corner.shape == (2, 2, 3) and (corner == pixels[0, 4]).all()
    partly = crop_replicate(ArrayRaster(pixels), (-1, 2, 2, 6))
    assert np.array_equal(partly, np.pad(pixels, ((0, 2), (1, 0), (0, 0)), mode="edge")[2:6, 0:3])
