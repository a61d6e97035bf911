"""Random but valid containers, for tests, the fuzzer and benchmarks."""

from __future__ import annotations

import io

import numpy as np

from tadmcodec_formats.header import ColourType, Header
from tadmcodec_formats.metadata import Metadata
from tadmcodec_formats.patches import PatchGrid, patch_count
from tadmcodec_formats.writer import write_tadm


def random_container(
    width: int = 200,
    height: int = 120,
    scale: int = 16,
    colour: ColourType = ColourType.RGB,
    seed: int = 0,
    metadata: Metadata | None = None,
    patch: int = 16,
    overlap: int = 4,
    version: int = 2,
    **header_fields: object,
) -> tuple[bytes, dict]:
    """Bytes of a valid container (format `version`) with random LR, alpha and timesteps, and the content
    that went in."""
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
    steps = rng.integers(0, 1000, (patch_count(lh, patch, overlap), patch_count(lw, patch, overlap)))
    grid = PatchGrid(patch, overlap, steps)
    alpha = rng.integers(0, 256, (height, width), dtype=np.uint8) if colour.has_alpha else None
    buffer = io.BytesIO()
    write_tadm(buffer, header, lr, grid, alpha, metadata, version=version)
    return buffer.getvalue(), {"header": header, "lr": lr, "patches": grid, "alpha": alpha, "metadata": metadata}
