"""How to encode and how to decode, each as one frozen object that every entry point builds once and
passes on: the Python API, TadmFile, batches, the Pillow plugin and the command line. Values are checked
when the object is made, so a bad one is refused in one line before any file is read."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any, TypeVar

from tadmcodec_formats import FORMAT_MAJOR, MAX_TIMESTEP, READABLE_MAJORS

from .errors import InputImageError, TadmError

RUNTIMES = ("auto", "onnx", "torch")
SCALES = (16, 32)
MAX_TIMESTEP_SCALE = 10.0  # stored timesteps reach 100 (texture models): 10x spans the whole schedule
MAX_DETAIL = 2.0  # the decoders are trained up to 1; beyond 2 they only add noise


@dataclass(frozen=True)
class DecodeOptions:
    """How a .tadm file is decoded.

    device: where the model runs (None: CUDA when present, else the CPU); runtime: auto, onnx or torch
    (tadmcodec.runtime.decoders); the timestep dial: every stored timestep times timestep_scale, or one
    fixed `timestep` for every patch (lower favours fidelity); detail: the fidelity/realism dial, how much
    of the texture prior's (or the detail synthesis') texture to show (None: the model's default; 0:
    none, the most faithful pixels)."""

    device: str | None = None
    runtime: str = "auto"
    timestep_scale: float = 1.0
    timestep: int | None = None
    detail: float | None = None

    def __post_init__(self) -> None:
        if self.runtime not in RUNTIMES:
            raise TadmError(f"runtime {self.runtime!r}: use {', '.join(RUNTIMES)}")
        if not (math.isfinite(self.timestep_scale) and 0 <= self.timestep_scale <= MAX_TIMESTEP_SCALE):
            raise TadmError(f"timestep scale {self.timestep_scale}: use a number from 0 to {MAX_TIMESTEP_SCALE}")
        if self.timestep is not None and not 0 <= self.timestep <= MAX_TIMESTEP:
            raise TadmError(f"timestep {self.timestep}: use 0 to {MAX_TIMESTEP}")
        if self.detail is not None and not (math.isfinite(self.detail) and 0 <= self.detail <= MAX_DETAIL):
            raise TadmError(f"detail {self.detail}: use 0 (none) to {MAX_DETAIL}")


@dataclass(frozen=True)
class EncodeOptions:
    """How an image is encoded: scale (16 or 32), model (a name or folder; None: the scale's default),
    device (None: CUDA when present, else the CPU), strip_metadata (leave out EXIF, ICC, XMP and text),
    format_version (the container's major version: 2, or 1 for readers older than version 2)."""

    scale: int = 16
    model: str | None = None
    device: str | None = None
    strip_metadata: bool = False
    format_version: int = FORMAT_MAJOR

    def __post_init__(self) -> None:
        if type(self.scale) is not int or self.scale not in SCALES:
            raise InputImageError(f"scale must be the integer 16 or 32, got {self.scale!r}")
        if self.format_version not in READABLE_MAJORS:
            raise InputImageError(f"format_version must be one of {READABLE_MAJORS}, got {self.format_version!r}")


Options = TypeVar("Options", DecodeOptions, EncodeOptions)


def with_settings(options: Options, settings: dict[str, Any]) -> Options:
    """options with the named fields replaced (the keyword arguments API functions take); an unknown
    name is refused in one line."""
    unknown = set(settings) - {field.name for field in fields(options)}
    if unknown:
        raise TypeError(f"unknown {type(options).__name__} field(s): {', '.join(sorted(unknown))}")
    return replace(options, **settings) if settings else options
