"""`tadmcodec info`, `verify` and `recode`: no torch import, so many files in one call are cheap."""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import nullcontext
from pathlib import Path

from tadmcodec_formats import TadmError, TadmReader, UnknownModelError, recode
from tadmcodec_formats.atomic import no_clobber

from .paths import add_format_version_flag


def _info(args: argparse.Namespace) -> int:
    failures = 0
    summaries = []
    for path in args.files:
        try:
            with TadmReader(path) as reader:
                summaries.append({"file": path, **reader.describe()})
        except (TadmError, OSError) as err:
            failures += 1
            print(f"tadmcodec info: {path}: {_reason(err)}", file=sys.stderr)
    if args.json:
        print(json.dumps(summaries, indent=2))
    else:
        for summary in summaries:
            print(_format_summary(summary))
    return 1 if failures else 0


def _format_summary(s: dict) -> str:
    grid, meta = s["patch_grid"], s["metadata"]
    lines = [
        f"{s['file']}: TADM {s['format_version']}, {s['width']}x{s['height']} {s['mode']}, {s['scale']}x",
        f"  LR {s['lr_size'][0]}x{s['lr_size'][1]} in {s['lr_tiles']} tiles of "
        f"{s['lr_tile_size'][0]}x{s['lr_tile_size'][1]} ({s['lr_codec']}), colour space {s['colour_space']}",
        f"  model {s['model_id']} sha256 {s['model_sha256'][:16]}..., {s['file_bytes']} bytes",
        f"  patches {grid['cols']}x{grid['rows']} of {grid['patch_size']} (overlap {grid['overlap']}), "
        f"timesteps {grid['timestep_min']}-{grid['timestep_max']} (mean {grid['timestep_mean']})",
        f"  metadata: exif {meta['exif_bytes']} B, icc {meta['icc_profile_bytes']} B, xmp {meta['xmp_bytes']} B, "
        f"text keys {sorted(meta['text'])}",
    ]
    return "\n".join(lines)


def _verify(args: argparse.Namespace) -> int:
    if args.manifest is not None:
        from ..batch import RayOptions, audit

        try:
            problems = audit(args.manifest, engine=args.engine, ray=RayOptions(address=args.ray_address))
        except TadmError as err:
            print(f"tadmcodec verify: {err}", file=sys.stderr)
            return 2
        for problem in problems:
            print(f"DAMAGED: {problem}")
        print(f"{args.manifest}: {'ok' if not problems else f'{len(problems)} problem(s)'}")
        return 1 if problems else 0
    if not args.files:
        print("tadmcodec verify: give files or --manifest DIR/manifest.jsonl", file=sys.stderr)
        return 2
    damaged = 0
    for path in args.files:
        try:
            with TadmReader(path) as reader:
                reader.verify()
                note = _check_model(reader, args.model_check)
            print(f"{path}: ok{note}")
        except (TadmError, OSError) as err:
            damaged += 1
            print(f"{path}: DAMAGED: {_reason(err)}")
    return 1 if damaged else 0


def _check_model(reader: TadmReader, required: bool) -> str:
    """Check the file against the installed model it names (torch-free); a note when that model is not
    installed, unless `required`, when that is an error."""
    from ..runtime.decoders import check_against_model

    try:
        check_against_model(reader.header, reader.read_patch_summary())
    except UnknownModelError:
        if required:
            raise
        return f" (structure only: model {reader.header.model_id!r} is not installed here)"
    return ""


def _recode(args: argparse.Namespace) -> int:
    try:
        with nullcontext() if args.overwrite else no_clobber():
            recode(args.input, args.output, args.format_version)
    except FileExistsError:
        print(f"tadmcodec recode: {args.output} exists (--overwrite replaces it)", file=sys.stderr)
        return 1
    except (TadmError, OSError) as err:
        print(f"tadmcodec recode: {args.input}: {_reason(err)}", file=sys.stderr)
        return 1
    before, after = Path(args.input).stat().st_size, Path(args.output).stat().st_size
    print(f"{args.output}: TADM {args.format_version}.0, {after} bytes ({before} before)")
    return 0


def _reason(err: Exception) -> str:
    if isinstance(err, OSError):
        return err.strerror or str(err)
    return f"{type(err).__name__}: {err}"


def add_parsers(commands: argparse._SubParsersAction) -> None:
    info = commands.add_parser("info", help="print each file's header and metadata summary")
    info.add_argument("files", nargs="+")
    info.add_argument("--json", action="store_true", help="print a JSON list instead of text")
    info.set_defaults(run=_info)
    verify = commands.add_parser("verify", help="check every CRC, length and tile of each file")
    verify.add_argument("files", nargs="*")
    verify.add_argument(
        "--model-check",
        action="store_true",
        help="also require the model the file names to be installed, and check the file against it "
        "(without this, checked whenever that model is installed)",
    )
    verify.add_argument("--manifest", type=Path, help="audit a batch's outputs against its manifest.jsonl")
    verify.add_argument("--engine", choices=("local", "ray"), default="local", help="audit here or on a Ray cluster")
    verify.add_argument("--ray-address", help="Ray cluster to join (default: RAY_ADDRESS, else start a local one)")
    verify.set_defaults(run=_verify)
    recode_parser = commands.add_parser(
        "recode", help="rewrite a .tadm file in another format version, content unchanged (no model run)"
    )
    recode_parser.add_argument("input")
    recode_parser.add_argument("output")
    add_format_version_flag(recode_parser)
    recode_parser.add_argument("--overwrite", action="store_true", help="replace an existing output")
    recode_parser.set_defaults(run=_recode)
