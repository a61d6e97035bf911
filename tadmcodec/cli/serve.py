"""`tadmcodec serve DIR`: the IIIF Image API 3.0 server (tadmcodec.serve) over the .tadm files in a folder,
under uvicorn; `tadmcodec iiif-export FILE OUT`: a static level-0 export of one file."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

from ..errors import TadmError
from .coding import add_decoding_flags, decode_options
from .domains import positive_int


def add_parsers(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser("serve", help="serve the .tadm files in a folder through IIIF Image API 3.0")
    serve.add_argument("folder", help="the folder whose .tadm files (subfolders included) are served")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=positive_int, default=8182, help="port (default 8182)")
    serve.add_argument("--workers", type=positive_int, default=1, help="decode worker threads (default 1)")
    serve.add_argument(
        "--queue", type=positive_int, default=16, help="decodes that may wait for a worker before 503 (default 16)"
    )
    serve.add_argument("--cache-mb", type=positive_int, default=256, help="decoded-region cache (default 256 MB)")
    serve.add_argument("--base-url", help="the public URL the server is reached at (default: each request's)")
    serve.add_argument(
        "--max-area",
        type=positive_int,
        help="most pixels in one response (default: twice PIL.Image.MAX_IMAGE_PIXELS, the in-memory limit)",
    )
    serve.add_argument("--max-width", type=positive_int, help="widest response, when set")
    serve.add_argument("--max-height", type=positive_int, help="tallest response, when set")
    add_decoding_flags(serve)
    serve.set_defaults(run=_serve)
    export = commands.add_parser(
        "iiif-export", help="write a static IIIF level-0 tile pyramid of a .tadm file, for any web server"
    )
    export.add_argument("file", help="the .tadm file")
    export.add_argument("out", help="the folder to write (info.json and the tiles)")
    export.add_argument("--base-url", required=True, help="the public URL the folder will be served at")
    export.add_argument("--overwrite", action="store_true", help="replace the folder if it exists")
    export.add_argument("--quiet", action="store_true", help="no progress bar")
    add_decoding_flags(export)
    export.set_defaults(run=_export)


def _serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from ..serve import Limits, ServerSettings, TadmLibrary, create_app
    except ImportError as err:
        print(f"tadmcodec serve: {err.name} is missing: pip install 'tadmcodec[serve]'", file=sys.stderr)
        return 2
    try:
        library = TadmLibrary(args.folder, decode_options(args))
    except (TadmError, FileNotFoundError) as err:
        print(f"tadmcodec serve: {err}", file=sys.stderr)
        return 2
    limits = Limits.in_memory(args.max_width, args.max_height)
    if args.max_area:
        limits = replace(limits, max_area=args.max_area)
    settings = ServerSettings(args.workers, args.queue, args.cache_mb, limits, args.base_url)
    count = len(library.identifiers())
    print(f"tadmcodec serve: {count} images from {library.root} at http://{args.host}:{args.port}/", file=sys.stderr)
    uvicorn.run(create_app(library, settings), host=args.host, port=args.port, log_level="warning")
    return 0


def _export(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..serve.iiif_request import IIIFError
    from ..serve.static_export import export_level0

    try:
        with tqdm(desc="decode", unit="patch", disable=args.quiet, delay=1) as progress:
            count = export_level0(
                args.file, args.out, args.base_url, decode_options(args), overwrite=args.overwrite, progress=progress
            )
    except (TadmError, IIIFError, OSError) as err:
        print(f"tadmcodec iiif-export: {err}", file=sys.stderr)
        return 1
    print(f"tadmcodec iiif-export: {count} images and info.json in {args.out}", file=sys.stderr)
    return 0
