"""Bad files: Pillow refuses non-TADM bytes as usual; damaged TADM files raise the library's errors;
the decompression-bomb check applies to the full size, and thumbnails stay reachable."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, UnidentifiedImageError

import tadmcodec
from tadmcodec_formats import ColourType, Metadata, TadmError
from tests.containers import random_container as make_container


def test_other_formats_are_not_claimed() -> None:
    with pytest.raises(UnidentifiedImageError):
        Image.open(io.BytesIO(b"\x89TADN\r\n\x1a\n" + bytes(40)))


def test_truncated_file_raises_tadm_error(encoded: dict[str, Path]) -> None:
    data = encoded["rgb"].read_bytes()
    with pytest.raises(TadmError):
        Image.open(io.BytesIO(data[:40]))


def test_decompression_bomb_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    data, _ = make_container(width=20000, height=12000, colour=ColourType.RGB, metadata=Metadata())
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000_000)
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(data))
    thumbnail = tadmcodec.read_thumbnail(data)  # the LR is all that is read
    assert thumbnail.size == (1250, 750)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)  # a deliberate choice for gigapixel archives
    with Image.open(io.BytesIO(data)) as image:
        image.thumbnail((500, 500))
        assert image.size == (500, 300)
