"""The options of `tadmcodec eval` (also `python -m tadmcodec.evaluation.evaluate`); torch-free."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folders", nargs="+", type=Path, help="folders of images (one dataset each)")
    parser.add_argument("--scale", type=int, nargs="+", choices=(16, 32), default=[16, 32])
    parser.add_argument("--out", type=Path, required=True, help="results folder (resumable)")
    parser.add_argument("--model-16", help="model for 16x (default: the 16x default model)")
    parser.add_argument("--model-32", help="model for 32x (default: the 32x default model)")
    parser.add_argument("--previous-16", help="an earlier 16x release to show beside the model")
    parser.add_argument("--previous-32", help="an earlier 32x release to show beside the model")
    parser.add_argument("--crop", type=int, help="evaluate the center crop x crop of each image")
    parser.add_argument("--ssimulacra2-limit", type=int, help="SSIMULACRA2 on the first N images per folder")
    parser.add_argument("--pictures", type=int, default=3, help="side-by-side pictures of the first N images")
    parser.add_argument(
        "--codecs",
        nargs="*",
        choices=("jpeg", "webp", "avif", "jpegxl"),
        default=["jpeg", "webp", "avif", "jpegxl"],
        help="standard codecs fitted to the .tadm bytes (default: all; avif-rescaled always runs)",
    )
