"""The `tadmcodec` command line: encode, decode, thumbnail, info, verify (and train, eval).

Every failure is one line on stderr and a non-zero exit status; outputs are written atomically.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import coding, evaluation, inspect, thumbnail, training


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tadmcodec", description="TADM learned extreme-rescaling image codec")
    commands = parser.add_subparsers(dest="command", required=True)
    for module in (coding, thumbnail, inspect, training, evaluation):
        module.add_parsers(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print(f"tadmcodec {args.command}: interrupted; no partial output was left", file=sys.stderr)
        return 130
