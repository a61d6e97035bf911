"""The --overwrite / --skip-existing flags every command that writes files takes."""

from __future__ import annotations

import argparse


def add_overwrite_flags(parser: argparse.ArgumentParser) -> None:
    exclusive = parser.add_mutually_exclusive_group()
    exclusive.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    exclusive.add_argument("--skip-existing", action="store_true", help="leave existing outputs and skip their inputs")
