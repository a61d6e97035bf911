"""Shared helpers: small synthetic containers built in memory."""

from __future__ import annotations

import io

import numpy as np
import pytest

from tadmcodec_formats import ColourType, Header, Metadata, PatchGrid, write_tadm
from tadmcodec_formats.patches import patch_count


def make_container(
    width: int = 200,
    height: int = 120,
    scale: int = 16,
    colour: ColourType = ColourType.RGB,
    seed: int = 0,
    metadata: Metadata | None = None,
    **header_fields: object,
) -> tuple[bytes, dict]:
    """Bytes of a valid container with random content, and the content that went in."""
    rng = np.random.default_rng(seed)
    header = Header(
        width=width,
        height=height,
        scale=scale,
        colour_type=colour,
        model_id="test-model",
        model_sha256=bytes(32),
        **header_fields,
    )
    lr = rng.integers(0, 256, (header.lr_height, header.lr_width, header.lr_channels), dtype=np.uint8)
    lw, lh = header.latent_size
    grid = PatchGrid(16, 4, rng.integers(0, 1000, (patch_count(lh, 16, 4), patch_count(lw, 16, 4))))
    alpha = rng.integers(0, 256, (height, width), dtype=np.uint8) if colour.has_alpha else None
    buffer = io.BytesIO()
    write_tadm(buffer, header, lr, grid, alpha, metadata)
    return buffer.getvalue(), {"header": header, "lr": lr, "patches": grid, "alpha": alpha, "metadata": metadata}


@pytest.fixture
def container() -> tuple[bytes, dict]:
    return make_container(metadata=Metadata(exif=b"II*\x00", icc_profile=b"icc", xmp=b"<x/>", text={"k": "v"}))
