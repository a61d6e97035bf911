"""Argument types that check each option's domain in the parser, with the valid range in the message
(argparse turns the ArgumentTypeError into one usage line and exit status 2)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path


def int_in(low: int, high: int | None = None) -> Callable[[str], int]:
    """An integer from low to high (inclusive; no upper bound for None)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {_range(low, high)}, got {value}")
        return value

    return parse


def float_in(low: float, high: float | None = None) -> Callable[[str], float]:
    """A finite number from low to high (inclusive; no upper bound for None)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
        if not math.isfinite(value) or value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be a finite number {_range(low, high)}, got {text}")
        return value

    return parse


def folder_path(text: str) -> Path:
    """A folder to write into: it may not exist yet, but it may not be a file."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} exists and is not a folder")
    return path


def _range(low: float, high: float | None) -> str:
    return f"{low} or more" if high is None else f"from {low} to {high}"


positive_int = int_in(1)
non_negative_int = int_in(0)
