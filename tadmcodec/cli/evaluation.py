"""`tadmcodec eval DIR... --scale 16 32 --out RESULTS_DIR`: rate-quality against baselines and codecs."""

from __future__ import annotations

import argparse
import sys


def add_parsers(commands: argparse._SubParsersAction) -> None:
    from ..evaluation.arguments import add_arguments

    parser = commands.add_parser("eval", help="rate-quality evaluation against rescaling and standard codecs")
    add_arguments(parser)
    parser.set_defaults(run=_eval)


def _eval(args: argparse.Namespace) -> int:
    from ..errors import TadmError
    from ..evaluation.evaluate import main_from_args

    try:
        return main_from_args(args)
    except TadmError as err:
        print(f"tadmcodec eval: {err}", file=sys.stderr)
        return 2
