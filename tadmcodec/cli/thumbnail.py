"""`tadmcodec thumbnail`: the stored LR image, optionally reduced, with no model run (no torch); one
file, or many into a folder in one process (thumbnail-first access to a collection)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..batch.paths import TADM_SUFFIXES, expand_inputs, plan_outputs, should_write
from ..errors import TadmError
from .domains import folder_path, positive_int
from .paths import add_overwrite_flags


def add_parsers(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("thumbnail", help="write the stored LR thumbnail (no model run)")
    parser.add_argument(
        "paths", nargs="+", help="INPUT.tadm OUTPUT.png, or inputs (files, folders, globs) with --out-dir"
    )
    parser.add_argument("--out-dir", type=folder_path, help="write one thumbnail per input into this folder")
    parser.add_argument("--format", default="png", help="output format with --out-dir: png, jpg or webp")
    parser.add_argument("--size", type=positive_int, help="fit within SIZE x SIZE (never larger than the stored LR)")
    add_overwrite_flags(parser)
    parser.set_defaults(run=_thumbnail)


def _thumbnail(args: argparse.Namespace) -> int:
    from ..api import read_thumbnail
    from ..io.image_output import output_format, save_image

    try:
        if args.out_dir is not None:
            args.out_dir.mkdir(parents=True, exist_ok=True)
            suffix = f".{args.format.lower().lstrip('.')}"
            jobs = plan_outputs(expand_inputs(args.paths, TADM_SUFFIXES), args.out_dir, suffix)
        elif len(args.paths) == 2:
            jobs = [(Path(args.paths[0]), Path(args.paths[1]))]
        else:
            raise TadmError(f"give INPUT and OUTPUT, or inputs with --out-dir ({len(args.paths)} paths given)")
        output_format(jobs[0][1])
    except TadmError as err:
        print(f"tadmcodec thumbnail: {err}", file=sys.stderr)
        return 2
    failed = 0
    for source, target in jobs:
        try:
            if not should_write(source, target, args.overwrite, args.skip_existing):
                continue
            save_image(read_thumbnail(source, args.size), target)
        except (TadmError, OSError) as err:
            failed += 1
            print(f"tadmcodec thumbnail: {source}: {err}", file=sys.stderr)
    return 1 if failed else 0
