"""The fidelity/realism dial moves the shipped models' output in the measured direction: timesteps above
the stored ones cost fidelity, monotonically (a photo crop, PSNR-Y against the original)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import tadmcodec
from tadmcodec.quality.metrics import quality

SAMPLE = Path(tadmcodec.__file__).parent / "samples" / "chelsea.png"


@pytest.mark.parametrize("scale", [16, 32])
def test_larger_timesteps_lower_fidelity(scale: int) -> None:
    crop = np.asarray(Image.open(SAMPLE).convert("RGB"))[:256, 100:356]
    encoded = io.BytesIO()
    tadmcodec.encode(crop, encoded, scale=scale)
    settings = [{}, {"timestep_scale": 2.0}, {"timestep": 500}, {"timestep": 900}]  # growing timesteps
    psnr = [
        quality(crop, tadmcodec.decode(encoded.getvalue(), as_array=True, **s), False, False)["psnr_y"]
        for s in settings
    ]
    assert psnr == sorted(psnr, reverse=True) and psnr[0] - psnr[-1] > 5, psnr
