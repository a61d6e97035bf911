"""load() runs the full decode; save() encodes through the codec; metadata reaches info."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import tadmcodec
from tadmcodec.errors import TadmError


def test_load_equals_the_api_decode(encoded: dict[str, Path]) -> None:
    with Image.open(encoded["rgb"]) as image:
        image.load()
        assert image.size == (120, 80)
        assert np.array_equal(np.asarray(image), np.asarray(tadmcodec.decode(encoded["rgb"])))


def test_metadata_in_info(encoded: dict[str, Path]) -> None:
    with Image.open(encoded["gray"]) as image:
        assert image.getexif()[0x010F] == "cam-gray"


@pytest.mark.usefixtures("registered_models")
@pytest.mark.parametrize("how", ["extension", "format"])
def test_save(tmp_path: Path, how: str) -> None:
    source = Image.fromarray(np.random.default_rng(3).integers(0, 256, (40, 70, 3), dtype=np.uint8))
    target = tmp_path / ("out.tadm" if how == "extension" else "out.bin")
    options = {"scale": 32, "model": "test-32x"}
    if how == "extension":
        source.save(target, **options)
    else:
        source.save(target, format="TADM", **options)
    with Image.open(target) as image:
        assert image.format == "TADM" and image.size == (70, 40) and image.info["tadm_scale"] == 32


@pytest.fixture
def registered_with(request: pytest.FixtureRequest) -> object:
    """Register the plugin with the test's options; the defaults come back afterwards."""
    import tadmcodec_plugins.pillow as plugin

    plugin.register(**request.param)
    yield plugin
    plugin.register()


@pytest.mark.parametrize("registered_with", [{"timestep_scale": 3.0}], indirect=True)
@pytest.mark.usefixtures("registered_with")
def test_registration_options_reach_the_decoder(encoded: dict[str, Path]) -> None:
    with Image.open(encoded["rgb"]) as image:
        image.load()
        turned = np.asarray(image)
    assert np.array_equal(turned, tadmcodec.decode(encoded["rgb"], timestep_scale=3.0, as_array=True))
    assert not np.array_equal(turned, tadmcodec.decode(encoded["rgb"], as_array=True))


@pytest.mark.parametrize("registered_with", [{"detail": 0.7}], indirect=True)
@pytest.mark.usefixtures("registered_with")
def test_the_detail_dial_is_a_registration_option(encoded: dict[str, Path]) -> None:
    with Image.open(encoded["rgb"]) as image:
        assert image.tadm.options.detail == 0.7


@pytest.mark.parametrize("registered_with", [{"runtime": "onnx"}], indirect=True)
@pytest.mark.usefixtures("registered_with")
def test_the_runtime_is_a_registration_option(encoded: dict[str, Path]) -> None:
    """The test models ship no graphs: a load on the onnx runtime says so (a TadmError about the model, as
    for a missing one; OSErrors are for the file's bytes)."""
    with Image.open(encoded["rgb"]) as image:
        assert image.tadm.options.runtime == "onnx"
        with pytest.raises(TadmError, match="ships no ONNX graphs"):
            image.load()


@pytest.mark.parametrize("registered_with", [{"lr_upscale_limit": 1.0}], indirect=True)
def test_the_upscale_limit_is_an_option(encoded: dict[str, Path], registered_with) -> None:
    with Image.open(encoded["rgb"]) as image:  # 120 x 80, LR 8 x 5: (60, 40) needs 15 x 10 > the LR
        assert image.draft(None, (60, 40)) is None
    with pytest.raises(ValueError, match=r"at least 1\.0"):
        registered_with.register(lr_upscale_limit=0.5)
