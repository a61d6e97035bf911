"""`tadmcodec thumbnail`: the stored LR image, optionally reduced, with no model run (no torch)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image

from ..batch.paths import should_write
from ..errors import TadmError
from .paths import add_overwrite_flags


def add_parsers(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("thumbnail", help="write the stored LR thumbnail (no model run)")
    parser.add_argument("input", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--size", type=int, help="fit within SIZE x SIZE (never larger than the stored LR)")
    add_overwrite_flags(parser)
    parser.set_defaults(run=_thumbnail)


def _thumbnail(args: argparse.Namespace) -> int:
    from ..api import read_thumbnail
    from ..image_output import save_image

    try:
        if not should_write(args.input, args.output, args.overwrite, args.skip_existing):
            return 0
        image = read_thumbnail(args.input)
        if args.size:
            image.thumbnail((args.size, args.size), Image.Resampling.LANCZOS)
        save_image(image, args.output)
    except (TadmError, OSError) as err:
        print(f"tadmcodec thumbnail: {args.input}: {err}", file=sys.stderr)
        return 1
    return 0
