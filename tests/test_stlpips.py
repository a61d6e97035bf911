"""ST-LPIPS as the project computes it equals the published package's own forward pass on fixed inputs.

The wheel (stlpips-pytorch 0.0.2) is fetched with pip, as tadmcodec.quality.stlpips.fetch does; its
modules import torchvision, IPython and torchsummary at import time, which its shift-tolerant networks
never call, so they are stubbed here for the comparison only.
"""

from __future__ import annotations

import subprocess
import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tadmcodec.quality import stlpips

SAMPLE = Path(stlpips.__file__).parents[1] / "samples" / "chelsea.png"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def published_package(tmp_path_factory: pytest.TempPathFactory) -> types.ModuleType:
    folder = tmp_path_factory.mktemp("stlpips-wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", stlpips.WHEEL, "-d", str(folder)], check=True
    )
    with zipfile.ZipFile(next(folder.glob("*.whl"))) as archive:
        archive.extractall(folder / "site")
    stubs = {name: types.ModuleType(name) for name in ("torchvision", "IPython", "torchsummary")}
    stubs["torchvision"].models = types.SimpleNamespace()
    stubs["IPython"].embed = lambda *a, **k: None
    stubs["torchsummary"].summary = lambda *a, **k: None
    saved = {name: sys.modules.get(name) for name in stubs}
    sys.modules.update(stubs)
    sys.path.insert(0, str(folder / "site"))
    try:
        import stlpips_pytorch.stlpips as package

        yield package
    finally:
        sys.path.remove(str(folder / "site"))
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


@pytest.mark.parametrize("network", ["alex", "vgg"])
def test_forward_equals_the_published_package(published_package: types.ModuleType, network: str) -> None:
    photo = np.asarray(Image.open(SAMPLE).convert("RGB"))[100:164, 200:280]
    a = torch.from_numpy(photo.copy()).permute(2, 0, 1)[None].float() / 127.5 - 1
    b = torch.nn.functional.avg_pool2d(a, 3, 1, 1)  # a blurred copy
    a, b = torch.cat([a, a.flip(3)]), torch.cat([b, a.flip(2)])
    theirs = published_package.LPIPS(net=network, variant="shift_tolerant", verbose=False)
    with torch.no_grad():
        expected = theirs(a, b).flatten().numpy()
        ours = stlpips.load(network)(a, b).numpy()
    assert np.abs(ours - expected).max() < 1e-5
    assert expected.min() > 0.05  # the inputs differ: a zero distance would prove nothing


def test_identical_images_are_at_distance_zero() -> None:
    a = torch.rand(1, 3, 48, 48) * 2 - 1
    assert float(stlpips.load("alex")(a, a)) == 0.0


def test_a_damaged_weight_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "stlpips").mkdir()
    for name, _ in stlpips.WEIGHT_FILES.values():
        (tmp_path / "stlpips" / name).write_bytes(b"not the weights")
    monkeypatch.setenv(stlpips.PRIORS_ENV, str(tmp_path))
    monkeypatch.setattr(stlpips, "_LOADED", {})
    with pytest.raises(stlpips.MissingWeightsError, match="SHA-256"):
        stlpips.load("alex")
