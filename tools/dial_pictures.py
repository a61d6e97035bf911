"""Pictures of the detail dial: one crop of an image as the original, and decoded at several detail
strengths (the same .tadm file each time: `tadmcodec decode --detail D`), side by side, enlarged so
that texture, grain and colour speckle can be judged.

    python -m tools.dial_pictures default-16x-r4 IMAGE --crop X Y SIZE [--details 0 0.25 0.5 1] --out FILE.jpg
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from tadmcodec.api import load_image
from tadmcodec.codec import Codec
from tadmcodec.raster import ArrayRaster
from tools.panels import labelled_sheet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("image", type=Path)
    parser.add_argument("--crop", type=int, nargs=3, metavar=("X", "Y", "SIZE"), required=True)
    parser.add_argument("--details", type=float, nargs="+", default=[0.0, 0.25, 0.5, 1.0])
    parser.add_argument("--zoom", type=int, default=2)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    image = np.asarray(load_image(args.image).convert("RGB"))
    codec = Codec.load(args.model, allow_path=True)
    lr, grid = codec.encode(image)
    x, y, size = args.crop
    box = (x, y, x + size, y + size)
    panels = [("original", image[y : y + size, x : x + size])]
    for detail in args.details:
        decoded = codec.decode(ArrayRaster(lr), grid, (image.shape[1], image.shape[0]), box, detail=detail)
        panels.append((f"detail {detail:g}", decoded))
    labelled_sheet(panels, args.zoom).save(args.out, quality=92)
    print(args.out)


if __name__ == "__main__":
    main()
