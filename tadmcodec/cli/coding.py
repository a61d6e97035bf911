"""`tadmcodec encode` and `tadmcodec decode`, for one file or batches (locally or on Ray), with progress
and a summary."""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable
from contextlib import ExitStack, nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Any

from tadmcodec_formats import MAX_TIMESTEP
from tadmcodec_formats.atomic import no_clobber

from ..batch import BatchOptions, RayOptions, batch_lock, plan_jobs, run_jobs
from ..batch.jobs import FileJob
from ..batch.manifest import MANIFEST_NAME
from ..errors import OutputExistsError, TadmError
from ..options import MAX_DETAIL, MAX_TIMESTEP_SCALE, RUNTIMES, DecodeOptions, EncodeOptions
from ..runtime.extras import require_torch
from ..store.registry import default_models
from .domains import float_in, folder_path, int_in, non_negative_int, positive_int
from .paths import add_format_version_flag, add_overwrite_flags

DEVICE_HELP = "cpu, cuda, cuda:N (default: CUDA when available, else CPU)"


def _add_output_flags(parser: argparse.ArgumentParser) -> None:
    add_overwrite_flags(parser)
    parser.add_argument(
        "--out-dir", type=folder_path, help="write one output per input into this folder (with a manifest)"
    )
    parser.add_argument("--threads", type=positive_int, help="CPU threads per process or Ray worker")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    batch = parser.add_argument_group("batches (with --out-dir)")
    batch.add_argument("--engine", choices=("local", "ray"), default="local", help="run here, or on a Ray cluster")
    batch.add_argument("--ray-address", help="Ray cluster to join (default: RAY_ADDRESS, else start a local one)")
    batch.add_argument("--workers", type=positive_int, help="Ray workers (default: the cluster's CPUs or GPUs)")
    batch.add_argument(
        "--gpus-per-worker", type=float_in(0.0), default=0.0, help="GPUs per Ray worker (a fraction shares)"
    )
    batch.add_argument(
        "--max-failures", type=non_negative_int, help="stop the job once more inputs than this have failed"
    )
    parser.add_argument(
        "--max-pixels",
        type=non_negative_int,
        help="refuse a file whose work (pixels in whole 256-px patch windows) exceeds this "
        "(default: twice PIL.Image.MAX_IMAGE_PIXELS; 0: no limit)",
    )


def add_decoding_flags(parser: argparse.ArgumentParser) -> None:
    """The decode options' flags (tadmcodec.options.DecodeOptions), read back by decode_options()."""
    parser.add_argument("--device", help=DEVICE_HELP)
    parser.add_argument(
        "--timestep-scale",
        type=float_in(0.0, MAX_TIMESTEP_SCALE),
        default=1.0,
        help=f"multiply the stored timesteps (<1: fidelity; 0 to {MAX_TIMESTEP_SCALE})",
    )
    parser.add_argument("--timestep", type=int_in(0, MAX_TIMESTEP), help="use this timestep for every patch (0-999)")
    parser.add_argument(
        "--detail",
        type=float_in(0.0, MAX_DETAIL),
        help=f"the fidelity/realism dial, 0 to {MAX_DETAIL}: how much of the texture prior's (or the detail "
        "synthesis') texture to show (0: none, most faithful; default: the model's)",
    )
    parser.add_argument(
        "--runtime",
        choices=RUNTIMES,
        default="auto",
        help="onnx: ONNX Runtime on the CPU, no torch import; torch: any device; auto (default): onnx where the "
        "model ships graphs and the CPU decodes, else torch",
    )


def decode_options(args: argparse.Namespace) -> DecodeOptions:
    """The DecodeOptions of add_decoding_flags' flags, refusing (MissingExtraError) a device or runtime
    that needs torch where it is not installed."""
    options = DecodeOptions(args.device, args.runtime, args.timestep_scale, args.timestep, args.detail)
    if options.runtime == "torch":
        require_torch("--runtime torch")
    elif options.device not in (None, "auto", "cpu"):
        require_torch(f"--device {options.device}")
    return options


def add_parsers(commands: argparse._SubParsersAction) -> None:
    encode = commands.add_parser("encode", help="encode images to .tadm files")
    encode.add_argument("paths", nargs="+", help="INPUT OUTPUT.tadm, or inputs (files, folders, globs) with --out-dir")
    encode.add_argument("--scale", type=int, choices=(16, 32), default=16)
    defaults = default_models()
    encode.add_argument(
        "--model", help=f"model name or folder (default: the scale's default, {defaults[16]} or {defaults[32]})"
    )
    encode.add_argument("--device", help=DEVICE_HELP)
    encode.add_argument("--strip-metadata", action="store_true", help="do not carry EXIF, ICC, XMP and text")
    add_format_version_flag(encode)
    _add_output_flags(encode)
    encode.set_defaults(run=_holding_out_dir(_encode))
    decode = commands.add_parser("decode", help="decode .tadm files to PNG, TIFF, JPEG or WebP")
    decode.add_argument("paths", nargs="+", help="INPUT.tadm OUTPUT.png|tif|jpg|webp, or inputs with --out-dir")
    decode.add_argument("--format", default="png", help="output format with --out-dir: png, tif, jpg or webp")
    decode.add_argument("--box", help="LEFT,UPPER,RIGHT,LOWER: decode only this box of the image (pixels)")
    decode.add_argument("--timestep-map", type=Path, help="also save a picture of the per-patch timesteps")
    add_decoding_flags(decode)
    _add_output_flags(decode)
    decode.set_defaults(run=_holding_out_dir(_decode))


def _holding_out_dir(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """The command, holding --out-dir's batch lock while it plans and runs (two batches on one folder
    must not both run; the second gets one line and status 2)."""

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        with ExitStack() as stack:
            if args.out_dir is not None:
                try:
                    stack.enter_context(batch_lock(args.out_dir))
                except TadmError as err:
                    print(f"tadmcodec {args.command}: {err}", file=sys.stderr)
                    return 2
            return command(args)

    return run


def _options(args: argparse.Namespace, coding: EncodeOptions | DecodeOptions, **specific: Any) -> BatchOptions:
    return BatchOptions(
        coding,
        threads=args.threads,
        overwrite=args.overwrite,
        skip_existing=args.skip_existing,
        max_pixels=args.max_pixels,
        **specific,
    )


def _jobs(args: argparse.Namespace, options: BatchOptions) -> tuple[BatchOptions, list[FileJob]]:
    """With --out-dir the planned batch; else the one INPUT OUTPUT pair (no manifest, and an existing
    output is refused before any work)."""
    if args.out_dir is not None:
        return options, plan_jobs(args.paths, args.out_dir, options)
    if args.engine != "local":
        raise TadmError("--engine ray needs --out-dir")
    if len(args.paths) != 2:
        raise TadmError(f"give INPUT and OUTPUT, or inputs with --out-dir ({len(args.paths)} paths given)")
    source, target = Path(args.paths[0]), Path(args.paths[1])
    if not target.resolve().parent.is_dir():
        raise TadmError(f"cannot write {target}: the folder {target.parent} does not exist")
    return replace(options, accept_identical=False, fixity=False), [FileJob(source, target)]


def _run(args: argparse.Namespace, options: BatchOptions, jobs: list[FileJob]) -> int:
    """Run the jobs, one error line per failed file, and print the summary."""

    def report_failure(record: dict[str, Any]) -> None:
        print(f"tadmcodec {args.command}: {record['input']}: {record['error']}", file=sys.stderr)

    ray = RayOptions(address=args.ray_address, workers=args.workers, gpus_per_worker=args.gpus_per_worker)
    manifest = args.out_dir / MANIFEST_NAME if args.out_dir is not None else None
    try:
        report = run_jobs(
            jobs,
            options,
            manifest=manifest,
            engine=args.engine,
            ray=ray,
            max_failures=args.max_failures,
            quiet=args.quiet,
            on_failure=report_failure,
        )
    except TadmError as err:  # the engine itself (Ray missing, cluster unreachable); files fail one by one
        print(f"tadmcodec {args.command}: {err}", file=sys.stderr)
        return 2
    print(report.summary())
    return 0 if report.ok else 1


def _encode(args: argparse.Namespace) -> int:
    from ..api import check_model

    try:
        require_torch("encoding")
        model = check_model(args.model, args.scale)  # a folder path: workers elsewhere resolve the same one
        coding = EncodeOptions(args.scale, model, args.device, args.strip_metadata, args.format_version)
        options, jobs = _jobs(args, _options(args, coding))
    except TadmError as err:
        print(f"tadmcodec encode: {err}", file=sys.stderr)
        return 2
    return _run(args, options, jobs)


def _parse_box(text: str | None) -> tuple[int, int, int, int] | None:
    if text is None:
        return None
    try:
        left, upper, right, lower = (int(v) for v in text.split(","))
    except ValueError:
        raise TadmError(f"--box must be LEFT,UPPER,RIGHT,LOWER integers, got {text!r}") from None
    return left, upper, right, lower


def _decode(args: argparse.Namespace) -> int:
    from ..io.image_output import output_format

    try:
        options = _options(args, decode_options(args), format=args.format, box=_parse_box(args.box))
        options, jobs = _jobs(args, options)
        for job in jobs:
            output_format(job.target)
        if args.timestep_map:
            _check_map_path(args, jobs)
    except TadmError as err:
        print(f"tadmcodec decode: {err}", file=sys.stderr)
        return 2
    status = _run(args, options, jobs)
    if args.timestep_map and status == 0:
        from ..io.image_output import save_image
        from ..tadm_file import TadmFile

        try:
            with (
                TadmFile(jobs[0].source, options.coding) as tadm,
                nullcontext() if args.overwrite else no_clobber(),
            ):
                save_image(tadm.timestep_map(), args.timestep_map)
        except FileExistsError:
            print(f"tadmcodec decode: {args.timestep_map} exists: another process wrote it meanwhile", file=sys.stderr)
            return 1
    return status


def _check_map_path(args: argparse.Namespace, jobs: list[FileJob]) -> None:
    """--timestep-map follows the outputs' rule, checked before any work: a format we write, not the
    decode's own path, and no existing file unless --overwrite."""
    from ..io.image_output import output_format

    path = args.timestep_map
    if len(jobs) != 1:
        raise TadmError("--timestep-map takes a single input")
    output_format(path)
    if path.absolute() == jobs[0].target.absolute():
        raise TadmError(f"--timestep-map {path} is the decode's own output: name another file")
    if os.path.lexists(path) and not args.overwrite:
        raise OutputExistsError(f"{path} exists (use --overwrite)")
