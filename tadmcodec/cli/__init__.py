"""The `tadmcodec` command line: encode, decode, thumbnail, info, verify (and train, eval).

Every failure is one line on stderr and a non-zero exit status; outputs are written atomically.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import warnings
from collections.abc import Sequence

from ..version import __version__
from . import coding, evaluation, inspect, serve, thumbnail, training


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tadmcodec", description="TADM learned extreme-rescaling image codec")
    parser.add_argument("--version", action="version", version=f"tadmcodec {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    for module in (coding, thumbnail, inspect, serve, training, evaluation):
        module.add_parsers(commands)
    return parser


class Stopped(BaseException):
    """SIGTERM or SIGHUP arrived: unwinds like Ctrl-C, so outputs and temporaries are cleaned up."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _stop(signum: int, _frame: object) -> None:
    raise Stopped(signum)


def _attach_negative_values(argv: list[str]) -> list[str]:
    """`--box -5,0,10,10` as `--box=-5,0,10,10`: argparse would take a value starting with '-' for an option."""
    joined: list[str] = []
    for token in argv:
        if joined and joined[-1] == "--box" and re.fullmatch(r"-?\d+(,-?\d+)*", token):
            joined[-1] = f"--box={token}"
        else:
            joined.append(token)
    return joined


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(_attach_negative_values(list(sys.argv[1:] if argv is None else argv)))
    for stop_signal in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop_signal, _stop)
    warnings.showwarning = lambda message, *_: print(f"tadmcodec {args.command}: warning: {message}", file=sys.stderr)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print(f"tadmcodec {args.command}: interrupted; no partial output was left", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of our output went away (`tadmcodec info ... | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Stopped as stopped:
        name = signal.Signals(stopped.signum).name
        print(f"tadmcodec {args.command}: stopped by {name}; no partial output was left", file=sys.stderr)
        return 128 + stopped.signum
