"""Write/read round trips of random headers, metadata, LR arrays and patch grids."""

from __future__ import annotations

import io
import itertools
from dataclasses import replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tadmcodec_formats import ColourSpace, ColourType, Header, LRCodec, Metadata, PatchGrid, read_tadm, write_tadm
from tadmcodec_formats.patches import patch_count, patch_starts

text_keys = st.text(st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)), min_size=1, max_size=20)
metadata = st.builds(
    Metadata,
    exif=st.none() | st.binary(min_size=1, max_size=64),
    icc_profile=st.none() | st.binary(min_size=1, max_size=64),
    xmp=st.none() | st.binary(min_size=1, max_size=64),
    text=st.dictionaries(text_keys, st.text(max_size=40), max_size=3),
)


@st.composite
def containers(draw: st.DrawFn) -> tuple[int, Header, np.ndarray, PatchGrid, np.ndarray | None, Metadata]:
    version = draw(st.sampled_from([1, 2]))
    codecs = [LRCodec.RAW, LRCodec.ZSTD_PREDICTIVE] + [LRCodec.PER_TILE] * (version == 2)
    header = Header(
        width=draw(st.integers(1, 700)),
        height=draw(st.sampled_from([1, 2, 15, 16, 17, 33, 300])),
        scale=draw(st.sampled_from([16, 32])),
        colour_type=draw(st.sampled_from(list(ColourType))),
        model_id=draw(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", fullmatch=True)),
        model_sha256=draw(st.binary(min_size=32, max_size=32)),
        colour_space=draw(st.sampled_from(list(ColourSpace))),
        tile_width=draw(st.integers(8, 40)),
        tile_height=draw(st.integers(8, 40)),
        lr_codec=draw(st.sampled_from(codecs)),
    )
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    smooth = draw(st.booleans())
    shape = (header.lr_height, header.lr_width, header.lr_channels)
    lr = (np.cumsum(rng.integers(0, 3, shape), axis=1) % 256 if smooth else rng.integers(0, 256, shape)).astype(
        np.uint8
    )
    patch = draw(st.integers(8, 64))
    overlap = draw(st.integers(0, patch // 2))
    lw, lh = header.latent_size
    steps = rng.integers(0, 1000, (patch_count(lh, patch, overlap), patch_count(lw, patch, overlap)))
    alpha = (
        rng.integers(0, 256, (header.height, header.width), dtype=np.uint8) if header.colour_type.has_alpha else None
    )
    return version, header, lr, PatchGrid(patch, overlap, steps), alpha, draw(metadata)


@settings(max_examples=60, deadline=None)
@given(containers())
def test_round_trip(case: tuple) -> None:
    version, header, lr, grid, alpha, meta = case
    buffer = io.BytesIO()
    write_tadm(buffer, header, lr, grid, alpha, meta, version=version)
    got = read_tadm(buffer.getvalue())
    assert got.version == (version, 0)
    if version == 1:
        assert got.header == header
    else:  # version 2 stores the hash's first 8 bytes; each tile names its codec
        assert got.header == replace(header, model_sha256=header.model_sha256[:8], lr_codec=LRCodec.PER_TILE)
    assert got.metadata == meta
    assert np.array_equal(got.lr, lr)
    assert got.patches == grid
    if alpha is None:
        assert got.alpha is None
    else:
        assert np.array_equal(got.alpha, alpha)


@given(st.integers(1, 5000), st.integers(8, 128), st.data())
def test_patch_starts_cover_the_latent(length: int, patch: int, data: st.DataObject) -> None:
    overlap = data.draw(st.integers(0, patch // 2))
    starts = patch_starts(length, patch, overlap)
    assert len(starts) == patch_count(length, patch, overlap)
    assert starts[0] == 0
    covered = np.zeros(length, bool)
    for start in starts:
        covered[start : start + patch] = True
    assert covered.all()
    if length > patch:
        assert starts[-1] == length - patch
        assert all(0 < b - a <= patch - overlap for a, b in itertools.pairwise(starts))
