"""Training crops: several crops of one image per draw, for losses that compare regions of one image."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tadmcodec.training.data import CropSampler


@pytest.fixture
def flat_images(tmp_path: Path) -> Path:
    for index in range(6):  # each image one grey level, so a crop tells which image it came from
        Image.fromarray(np.full((40, 50, 3), 20 + 40 * index, np.uint8)).save(tmp_path / f"{index}.png")
    return tmp_path


def test_crops_per_image_come_in_runs_from_one_image(flat_images: Path) -> None:
    sampler = CropSampler([flat_images], 16, seed=3)
    levels = sampler.batch(12, per_image=4).mean(dim=(1, 2, 3)).reshape(3, 4)
    assert all(len(set(row.tolist())) == 1 for row in levels)
    assert len(set(sampler.batch(12, per_image=1).mean(dim=(1, 2, 3)).tolist())) > 1


def test_a_batch_must_split_evenly(flat_images: Path) -> None:
    with pytest.raises(ValueError, match="cannot take 4"):
        CropSampler([flat_images], 16).batch(6, per_image=4)
