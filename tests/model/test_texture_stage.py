"""A model with a texture prior: tiles of the prior stage give a region decode exactly the pixels of the
full decode, the dial blends rendered and refined pixels, the prior reads the file's texture positions,
and the onnx runtime computes what torch computes."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch

import tadmcodec
from tadmcodec.io.raster import ArrayRaster
from tadmcodec.pipeline import texture_stage
from tadmcodec.pipeline.image_decoder import ImageDecoder
from tadmcodec.runtime.graph_export import export_graphs
from tadmcodec.runtime.model_loader import load_model_folder
from tadmcodec.runtime.torch_networks import TorchNetworks
from tadmcodec_formats import TadmReader
from tests.conftest import build_model_folder

TEXTURE = {"texture_timesteps": [0.5, 5.0, 10, 100]}


@pytest.fixture(scope="module")
def prior_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("prior")
    folder = build_model_folder(root, 16, folder_name="test-16x-prior", texture_prior=True, **TEXTURE)
    export_graphs(load_model_folder(folder).for_inference(), folder)
    return folder


@pytest.fixture(scope="module")
def encoded(prior_model: Path) -> bytes:
    rng = np.random.default_rng(4)
    image = np.clip(rng.normal(128, 40, (200, 264, 3)), 0, 255).astype(np.uint8)
    image[:, :100] = 90  # a flat part: low texture positions there
    buffer = io.BytesIO()
    tadmcodec.encode(image, buffer, model=str(prior_model))
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def small_tiles(monkeypatch: pytest.MonkeyPatch, prior_model: Path) -> None:
    """Tiles of 64 pixels with a 16-pixel halo, so a small image spans many of them."""
    monkeypatch.setattr(texture_stage, "TILE", 64)
    monkeypatch.setattr(texture_stage, "HALO", 16)
    monkeypatch.setenv("TADMCODEC_MODEL_PATH", str(prior_model.parent))


@pytest.mark.parametrize("runtime", ["torch", "onnx"])
def test_a_region_decode_is_exactly_the_full_decode_there(encoded: bytes, runtime: str) -> None:
    full = tadmcodec.decode(encoded, runtime=runtime, detail=1.0, as_array=True)
    for box in [(0, 0, 264, 200), (37, 61, 150, 133), (63, 63, 65, 65), (200, 150, 264, 200)]:
        region = tadmcodec.decode(encoded, runtime=runtime, detail=1.0, box=box, as_array=True)
        assert np.array_equal(region, full[box[1] : box[3], box[0] : box[2]]), box


def test_onnx_computes_what_torch_computes(encoded: bytes) -> None:
    on_torch = tadmcodec.decode(encoded, runtime="torch", detail=1.0, as_array=True).astype(int)
    on_onnx = tadmcodec.decode(encoded, runtime="onnx", detail=1.0, as_array=True).astype(int)
    assert np.abs(on_torch - on_onnx).max() <= 1


def test_the_dial_blends_rendered_into_refined_pixels(encoded: bytes) -> None:
    rendered, refined, half = (
        tadmcodec.decode(encoded, runtime="torch", detail=d, as_array=True).astype(float) for d in (0.0, 1.0, 0.5)
    )
    assert np.abs(refined - rendered).mean() > 2  # the prior changes the picture
    assert np.abs(half - (rendered + refined) / 2).max() <= 1  # clamping and rounding only


def test_the_prior_reads_the_stored_texture(encoded: bytes, prior_model: Path) -> None:
    grid = TadmReader(encoded).read_patches()
    positions = texture_stage.texture_positions(grid.timesteps, TEXTURE["texture_timesteps"])
    assert positions.min() < positions.max()  # the flat and noisy parts differ
    decoder = load_model_folder(prior_model)
    assert decoder.texture_prior.texture_input
    networks = TorchNetworks(decoder.for_inference(), torch.device("cpu"))
    lr = ArrayRaster(TadmReader(encoded).read_lr())
    stored = ImageDecoder(networks).decode(lr, grid, (264, 200), detail=1.0)
    assert np.array_equal(stored, tadmcodec.decode(encoded, runtime="torch", detail=1.0, as_array=True))
    flat = np.full_like(grid.timesteps, 10)  # the texture the prior reads, set flat everywhere
    assert not np.array_equal(
        ImageDecoder(networks).decode(lr, grid, (264, 200), detail=1.0, stored_timesteps=flat), stored
    )
