"""draft(), reduce() and thumbnail() are served from the stored LR without the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import tadmcodec


@pytest.fixture
def no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any model run fails the test."""

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("the model ran")

    monkeypatch.setattr(tadmcodec.TadmFile, "decoder", refuse)


@pytest.mark.usefixtures("no_model")
def test_thumbnail_uses_the_lr(encoded: dict[str, Path]) -> None:
    with Image.open(encoded["rgb"]) as image:
        image.thumbnail((8, 8))  # the 8x5 LR covers the 8x5 thumbnail
        assert image.size == (8, 5)


@pytest.mark.usefixtures("no_model")
def test_thumbnails_up_to_four_times_the_lr_come_from_it(encoded: dict[str, Path]) -> None:
    """By default (lr_upscale_limit 4) a thumbnail needing up to 4x the LR is the enlarged LR, no model."""
    with Image.open(encoded["rgb"]) as image:  # 120 x 80, LR 8 x 5
        image.thumbnail((30, 20))  # 30 x 20 needs 3.75 x the LR
        assert image.size == (30, 20)
    with Image.open(encoded["rgb"]) as image:
        assert image.draft(None, (80, 54)) is None  # 40 x 27 would be 5 x the LR: the model decodes


@pytest.mark.usefixtures("no_model")
def test_draft_returns_the_lr_and_its_box(encoded: dict[str, Path]) -> None:
    with Image.open(encoded["rgb"]) as image:
        mode, box = image.draft(None, (8, 5))
        assert image.size == (8, 5) and mode == "RGB" and box == (0, 0, 7.5, 5.0)
        image.load()
        assert np.array_equal(np.asarray(image), np.asarray(tadmcodec.read_thumbnail(encoded["rgb"])))


@pytest.mark.usefixtures("no_model")
def test_reduce_by_the_scale_or_more(encoded: dict[str, Path]) -> None:
    with Image.open(encoded["rgba"]) as image:
        assert image.reduce(16).size == (6, 4)
        assert image.reduce(32).size == (3, 2)
        assert image.reduce(16).mode == "RGBA"


def test_draft_declines_sizes_beyond_the_lr(encoded: dict[str, Path]) -> None:
    with Image.open(encoded["rgb"]) as image:
        assert image.draft(None, (100, 60)) is None
        assert image.size == (120, 80)
