"""Quality regression on the shipped weights: the bundled sample must beat bicubic rescaling at the
same LR size by the margin measured when the weights were committed (minus a small tolerance), so a
broken weight file or pipeline fails CI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import tadmcodec
from tadmcodec.evaluation.baselines import rescale_baseline
from tadmcodec.metrics import quality
from tadmcodec.registry import available_models

SAMPLE = Path(tadmcodec.__file__).parent / "samples" / "chelsea.png"
# PSNR-Y gain over bicubic on the sample when the weights were committed (16x: +2.26 dB, 32x: +1.51 dB),
# minus 0.15 dB of tolerance for floating-point differences between machines.
MIN_GAIN_DB = {16: 2.11, 32: 1.36}


@pytest.mark.parametrize("scale", [16, 32])
def test_shipped_model_beats_bicubic_on_the_sample(scale: int, tmp_path: Path) -> None:
    assert f"default-{scale}x" in available_models(), "the shipped model is missing from the package"
    image = np.asarray(Image.open(SAMPLE).convert("RGB"))
    target = tmp_path / "sample.tadm"
    tadmcodec.encode(image, target, scale=scale)
    decoded = tadmcodec.decode(target, as_array=True)
    ours = quality(image, decoded, with_ssimulacra2=False)["psnr_y"]
    bicubic = quality(image, rescale_baseline(image, scale, Image.Resampling.BICUBIC), False)["psnr_y"]
    assert ours - bicubic >= MIN_GAIN_DB[scale], (ours, bicubic)
