"""Timesteps set by the encoder from the original's texture (models with texture_timesteps)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tadmcodec.runtime.codec import Codec
from tests.conftest import build_model_folder

MAPPING = (1.0, 5.0, 10, 200)  # log(1 + D) <= 1: t = 10; >= 5: t = 200


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("texture")


def _codec(root: Path, **config: object) -> Codec:
    name = "-".join(f"{k}{v}" for k, v in config.items()) or "plain"
    folder = build_model_folder(root, 16, folder_name=name, texture_timesteps=MAPPING, **config)
    return Codec.load(str(folder), allow_path=True)


def test_textured_patches_get_larger_timesteps_than_flat_ones(root: Path) -> None:
    """Flat gray on the left, gray noise (std 17, log(1 + D) near 5.5) on the right: the row of patches
    climbs from t_low to t_high, the patch across the edge (half noise) between them."""
    image = np.full((128, 512), 128.0)
    image[:, 256:] += np.random.default_rng(0).normal(0, 17, (128, 256))
    _, grid = _codec(root).encode(np.repeat(np.clip(image, 0, 255).astype(np.uint8)[..., None], 3, axis=2))
    steps = grid.timesteps[0].astype(int)
    assert grid.timesteps.shape == (1, 5)
    assert steps[0] == 10 and steps[-1] == 200
    assert (np.diff(steps) >= 0).all() and 10 < steps[2] < 200  # the patch across the edge lies between


def test_texture_timesteps_do_not_depend_on_the_encode_tiling(root: Path) -> None:
    """The texture is measured on each tile with its halo: 128-pixel tiles give the timesteps of one tile."""
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[:300, :420]
    amplitude = (xx / 420.0 * 60.0)[..., None] * (yy / 300.0)[..., None]  # texture growing to the corner
    image = np.clip(128 + rng.normal(0, 1, (300, 420, 3)) * amplitude, 0, 255).astype(np.uint8)
    _, tiled = _codec(root).encode(image)
    _, whole = _codec(root, encode_tile=1024, encode_halo=128).encode(image)
    assert np.array_equal(tiled.timesteps, whole.timesteps)
    assert len(np.unique(tiled.timesteps)) > 3  # the map is not one colour


def test_a_mapping_that_is_not_rising_is_refused() -> None:
    from tadmcodec.models.tadm import TADMModel

    with pytest.raises(ValueError, match="texture_timesteps"):
        TADMModel(texture_timesteps=(5.0, 1.0, 10, 200))
    with pytest.raises(ValueError, match="texture_timesteps"):
        TADMModel(texture_timesteps=(1.0, 5.0, 10, 1000))
