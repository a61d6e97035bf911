"""Pictures of the stored thumbnail: the area downscale of an image beside the LR each model stores for
it (what `tadmcodec thumbnail` shows), enlarged with nearest-neighbour so that colour speckle from the
hidden information can be judged, each labelled with its PSNR against the area downscale.

    python -m tools.thumbnail_pictures IMAGE MODEL... [--zoom 4] --out FILE.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from tadmcodec.api import load_image
from tadmcodec.codec import Codec
from tadmcodec.evaluation.validate import area_downscale
from tadmcodec.metrics import psnr_images
from tools.panels import labelled_sheet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", type=Path)
    parser.add_argument("models", nargs="+")
    parser.add_argument("--zoom", type=int, default=4)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    rgb = np.asarray(load_image(args.image).convert("RGB"))
    codecs = [Codec.load(name, allow_path=True) for name in args.models]
    reference = area_downscale(rgb, codecs[0].scale)
    panels = [("area downscale", reference)]
    for name, codec in zip(args.models, codecs, strict=True):
        lr = codec.encode(rgb)[0]
        panels.append((f"{Path(name).name} {psnr_images(reference, lr):.1f} dB", lr))
    labelled_sheet(panels, args.zoom).save(args.out)


if __name__ == "__main__":
    main()
