"""Writes a decode reference for a shipped model: a crop of the bundled sample encoded with it, and
the decode of that file (and, for a model with detail synthesis, its decode at detail 1). Run once
when a model is released, never to refresh an existing reference: the test that reads them guards
that files written today decode to the same pixels in later versions.

    python tests/quality/reference/make_reference.py default-16x
    python tests/quality/reference/make_reference.py default-16x --onnx

With --onnx, it records the existing reference file's decode on ONNX Runtime (NAME.onnx.png, for a
model that ships graphs): the pixels the CPU decode without torch gives, which round differently from
torch's within the archival tolerance and are held exactly.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

import tadmcodec
from tadmcodec.runtime.codec import Codec
from tadmcodec.store.registry import available_models

SAMPLE = Path(tadmcodec.__file__).parent / "samples" / "chelsea.png"
CROP = (slice(54, 246), slice(98, 354))  # 192 x 256 around the cat's face
DETAIL = 1.0  # the detail dial of the second reference decode (models with detail synthesis)


def record_onnx(model: str, folder: Path) -> None:
    """NAME.onnx.png: the existing reference file decoded on ONNX Runtime, written once."""
    png = folder / f"{model}.onnx.png"
    if png.exists():
        raise SystemExit(f"{png} exists: a released model's reference is never rewritten")
    decoded = tadmcodec.decode(folder / f"{model}.tadm", runtime="onnx", as_array=True)
    Image.fromarray(decoded).save(png, optimize=True)


def main(model: str, onnx: bool = False) -> None:
    if model not in available_models():
        raise SystemExit(f"unknown model {model!r}")
    folder = Path(__file__).parent
    if onnx:
        record_onnx(model, folder)
        return
    tadm, png = folder / f"{model}.tadm", folder / f"{model}.png"
    if tadm.exists():
        raise SystemExit(f"{tadm} exists: a released model's reference is never rewritten")
    image = np.asarray(Image.open(SAMPLE).convert("RGB"))[CROP]
    codec = Codec.load(model)
    tadmcodec.encode(image, tadm, scale=codec.scale, model=model)
    Image.fromarray(tadmcodec.decode(tadm, as_array=True)).save(png, optimize=True)
    if codec.model.synthesises_detail:  # the synthesised texture is archived too
        detailed = tadmcodec.decode(tadm, detail=DETAIL, as_array=True)
        Image.fromarray(detailed).save(folder / f"{model}-detail-{DETAIL:g}.png", optimize=True)


if __name__ == "__main__":
    main(sys.argv[1], "--onnx" in sys.argv[2:])
