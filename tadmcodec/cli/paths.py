"""Flags of the commands that write files: --overwrite / --skip-existing, --format-version."""

from __future__ import annotations

import argparse

from tadmcodec_formats import FORMAT_MAJOR, READABLE_MAJORS


def add_overwrite_flags(parser: argparse.ArgumentParser) -> None:
    exclusive = parser.add_mutually_exclusive_group()
    exclusive.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    exclusive.add_argument("--skip-existing", action="store_true", help="leave existing outputs and skip their inputs")


def add_format_version_flag(parser: argparse.ArgumentParser) -> None:
    """--format-version: the container major version a command writes."""
    parser.add_argument(
        "--format-version",
        type=int,
        choices=READABLE_MAJORS,
        default=FORMAT_MAJOR,
        help=f"container major version to write (default {FORMAT_MAJOR}; 1 for readers older than version 2)",
    )
