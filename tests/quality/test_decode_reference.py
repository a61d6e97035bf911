"""Archival stability: each shipped model decodes the reference file written when it was released
to the pixels recorded then, whatever torch thread count decodes it, and encodes the reference's source
crop to the same LR and timesteps again. A change to the weights (the file names their SHA-256) or to
the pipeline that moves old files' pixels, or what the encoder writes, fails here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import tadmcodec
from tadmcodec.store.registry import DEFAULT_MODELS, available_models
from tadmcodec_formats import read_tadm

REFERENCE = Path(__file__).parent / "reference"
SAMPLE = Path(tadmcodec.__file__).parent / "samples" / "chelsea.png"
SOURCE_CROP = (slice(54, 246), slice(98, 354))  # as reference/make_reference.py cuts it
SHIPPED = [name for name in available_models() if name.startswith("default-")]
# Floating-point results differ slightly between CPUs and thread counts (512^2 astronaut, 1 vs 2
# threads: 1.3e-5 of values by 1); timesteps scaled by only 1.02 move 4 % (32x) and 11 % (16x) here.
MAX_ABS_DIFF, MAX_FRACTION_DIFFERING = 2, 1e-3


@pytest.fixture(params=[1, 2], ids=["1-thread", "2-threads"])
def torch_threads(request: pytest.FixtureRequest) -> Iterator[int]:
    before = torch.get_num_threads()
    torch.set_num_threads(request.param)
    yield request.param
    torch.set_num_threads(before)


def test_every_shipped_model_has_a_reference() -> None:
    assert SHIPPED, "no shipped model found"
    missing = [name for name in SHIPPED if not (REFERENCE / f"{name}.tadm").exists()]
    assert not missing, f"write a reference with tests/quality/reference/make_reference.py for {missing}"


def _assert_decodes_to_the_recorded_pixels(model: str, runtime: str) -> None:
    header = tadmcodec.read_header(REFERENCE / f"{model}.tadm")
    assert header.model_id == model
    decoded = tadmcodec.decode(REFERENCE / f"{model}.tadm", as_array=True, runtime=runtime).astype(np.int16)
    recorded = np.asarray(Image.open(REFERENCE / f"{model}.png")).astype(np.int16)
    assert decoded.shape == recorded.shape
    difference = np.abs(decoded - recorded)
    assert difference.max() <= MAX_ABS_DIFF, difference.max()
    assert (difference > 0).mean() <= MAX_FRACTION_DIFFERING, (difference > 0).mean()


@pytest.mark.parametrize("model", SHIPPED)
def test_reference_file_decodes_to_the_recorded_pixels(model: str, torch_threads: int) -> None:
    _assert_decodes_to_the_recorded_pixels(model, "torch")


GRAPHED = [name for name in SHIPPED if (available_models()[name] / "onnx" / "graphs.json").is_file()]


def test_every_default_model_ships_onnx_graphs() -> None:
    """The defaults decode on the CPU without torch (tadmcodec.runtime.decoders's auto runtime)."""
    assert set(DEFAULT_MODELS.values()) <= set(GRAPHED), set(DEFAULT_MODELS.values()) - set(GRAPHED)


@pytest.mark.parametrize("model", GRAPHED)
def test_reference_file_decodes_to_the_recorded_pixels_on_onnx_runtime(model: str) -> None:
    """ONNX Runtime rounds differently from torch; its pixels must stay within the archival tolerance."""
    _assert_decodes_to_the_recorded_pixels(model, "onnx")


def test_every_graphed_model_has_an_onnx_reference() -> None:
    missing = [name for name in GRAPHED if not (REFERENCE / f"{name}.onnx.png").exists()]
    assert not missing, f"record it with tests/quality/reference/make_reference.py NAME --onnx for {missing}"


@pytest.mark.parametrize("model", GRAPHED)
def test_onnx_runtime_decodes_to_its_recorded_pixels_exactly(model: str) -> None:
    """What a plain install (no torch) gives: the ONNX Runtime decode recorded at release, bit for bit."""
    decoded = tadmcodec.decode(REFERENCE / f"{model}.tadm", runtime="onnx", as_array=True)
    assert np.array_equal(decoded, np.asarray(Image.open(REFERENCE / f"{model}.onnx.png")))


DETAILED = sorted(path.name for path in REFERENCE.glob("*-detail-*.png"))


@pytest.mark.parametrize("name", DETAILED)
def test_synthesised_detail_decodes_to_the_recorded_pixels(name: str, torch_threads: int) -> None:
    """The detail dial's texture is archived as the plain decode is: position-keyed noise, the same
    pixels in later versions."""
    model, _, detail = name.removesuffix(".png").rpartition("-detail-")
    decoded = tadmcodec.decode(REFERENCE / f"{model}.tadm", detail=float(detail), as_array=True).astype(np.int16)
    recorded = np.asarray(Image.open(REFERENCE / name)).astype(np.int16)
    plain = np.asarray(Image.open(REFERENCE / f"{model}.png")).astype(np.int16)
    assert np.abs(recorded - plain).mean() > 1.0  # the recorded file does hold added texture
    difference = np.abs(decoded - recorded)
    assert difference.max() <= MAX_ABS_DIFF, difference.max()
    assert (difference > 0).mean() <= MAX_FRACTION_DIFFERING, (difference > 0).mean()


def test_every_model_with_detail_synthesis_has_a_detail_reference() -> None:
    from tadmcodec.runtime.codec import Codec

    missing = [
        m
        for m in SHIPPED
        if Codec.load(m).model.synthesises_detail and not any(name.startswith(f"{m}-detail-") for name in DETAILED)
    ]
    assert not missing, f"write a reference with tests/quality/reference/make_reference.py for {missing}"


@pytest.mark.parametrize("model", SHIPPED)
def test_reference_source_encodes_to_the_recorded_file(model: str, torch_threads: int, tmp_path: Path) -> None:
    recorded = read_tadm(REFERENCE / f"{model}.tadm")
    image = np.asarray(Image.open(SAMPLE).convert("RGB"))[SOURCE_CROP]
    tadmcodec.encode(image, tmp_path / "again.tadm", scale=recorded.header.scale, model=model)
    again = read_tadm(tmp_path / "again.tadm")
    assert np.array_equal(again.lr, recorded.lr)
    assert np.array_equal(again.patches.timesteps, recorded.patches.timesteps)


# Releases that changed only how decoding computes (same weights, a faster definition: z_hat per
# 128-latent block instead of per patch), the release whose files they must decode alike, and how alike
# (PSNR in dB). At 16x the block's halo is the patches' and covers G_d's receptive field (rounding
# only); at 32x it grew from 4 to 8 LR pixels, closer to z_hat of the whole image (a few % of values
# move by one level).
SPEED_RELEASES = {"default-16x-r6": ("default-16x-r5", 80.0), "default-32x-r6": ("default-32x-r4", 55.0)}


@pytest.mark.parametrize("model", SPEED_RELEASES)
def test_a_speed_release_decodes_its_predecessors_file_to_its_pixels(model: str) -> None:
    """The predecessor's reference LR and timesteps, decoded by the faster release, give the
    predecessor's recorded pixels within one or two levels, at the PSNR recorded above."""
    from tadmcodec.io.raster import ArrayRaster
    from tadmcodec.runtime.codec import Codec

    predecessor, min_psnr = SPEED_RELEASES[model]
    recorded = read_tadm(REFERENCE / f"{predecessor}.tadm")
    codec = Codec.load(model)
    assert codec.model.config.latent_block and not Codec.load(predecessor).model.config.latent_block
    size = (recorded.header.width, recorded.header.height)
    decoded = codec.decoder.decode(ArrayRaster(recorded.lr), recorded.patches, size).astype(np.float64)
    difference = decoded - np.asarray(Image.open(REFERENCE / f"{predecessor}.png")).astype(np.float64)
    assert np.abs(difference).max() <= MAX_ABS_DIFF, np.abs(difference).max()
    assert 10 * np.log10(255**2 / max(np.mean(difference**2), 1e-12)) >= min_psnr
