"""The realism measures against hand-made images whose answers are known without the code."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from tadmcodec.quality.metrics import checkerboard, detail_energy, detail_ratio, grid_excess, luma_601, overshoot


def test_luma_is_bt601() -> None:
    pixels = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]]], np.uint8)
    np.testing.assert_allclose(luma_601(pixels)[0], [16 + 65.481, 16 + 128.553, 16 + 24.966, 235.0])


def test_detail_ratio_of_a_blur_is_small_and_of_itself_one() -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    assert detail_ratio(image, image) == 1.0
    blurred = np.stack([gaussian_filter(image[..., c].astype(float), 3) for c in range(3)], -1).round()
    assert detail_ratio(image, blurred.astype(np.uint8)) < 0.05
    assert detail_energy(np.full((16, 16, 3), 77, np.uint8)) == 0.0


def test_grid_excess_finds_an_eight_pixel_grid() -> None:
    rng = np.random.default_rng(1)
    noise = rng.normal(128, 10, (96, 96))
    assert max(map(abs, grid_excess(noise.astype(np.uint8)))) < 0.05
    blocky = noise.copy()
    blocky[:, ::8] += 30  # bright lines on columns 0, 8, 16...: edges at 7|8 and 8|9 of every block
    horizontal, vertical = grid_excess(np.clip(blocky, 0, 255).astype(np.uint8))
    assert horizontal > 0.5 and abs(vertical) < 0.05


def test_checkerboard_measures_the_two_pixel_pattern_in_luma_levels() -> None:
    rng = np.random.default_rng(2)
    smooth = np.repeat(np.linspace(60, 200, 64)[None, :], 64, axis=0) + rng.normal(0, 3, (64, 64))
    checker = np.where(np.indices((64, 64)).sum(0) % 2, -2.0, 2.0)  # +-2 gray levels
    gray = np.clip(smooth + checker, 0, 255).round().astype(np.uint8)
    assert abs(checkerboard(gray) - 2.0) < 0.2
    assert checkerboard(np.clip(smooth, 0, 255).round().astype(np.uint8)) < 0.2


def test_overshoot_counts_an_edge_halo_and_not_texture_within_the_range() -> None:
    edge = np.zeros((32, 32), np.uint8)
    edge[:, 16:] = 200  # a vertical edge from 0 to 200
    halo = edge.copy()
    halo[:, 16] = 250  # one bright column along the edge: 50 gray levels above anything near it
    assert abs(overshoot(edge, halo) - (250 - 200) / 32) < 1e-9  # on 1 of 32 columns (gray is its own luma)
    textured = edge.copy()
    textured[:, 16:] = np.where(np.indices((32, 16)).sum(0) % 2, 100, 200)  # texture from 100 to 200
    moved = np.roll(textured, 1, axis=0)  # other texture within the same range
    moved[:, :16] = 0
    assert overshoot(textured, moved) == 0.0
    assert overshoot(edge, moved) > 0  # on the flat side of the edge the same texture leaves the range
