"""The .tadm container: specification (SPEC.md), reference reader and writer. Needs no torch."""

from .chunks import FORMAT_MAJOR, READABLE_MAJORS
from .errors import (
    ChecksumError,
    CorruptFileError,
    LimitExceededError,
    TadmError,
    TruncatedFileError,
    UnknownModelError,
    UnsupportedFeatureError,
    UnsupportedVersionError,
)
from .header import LATENT_FACTOR, MAX_SIDE, SCALES, ColourSpace, ColourType, Header, LRCodec, latent_size_of
from .metadata import Metadata
from .patches import MAX_TIMESTEP, PatchGrid, PatchSummary, grid_shape, patch_count, patch_starts
from .reader import TadmContents, TadmReader, read_tadm
from .recode import recode
from .writer import AlphaSource, TadmWriter, area_average, write_tadm

__all__ = [
    "AlphaSource",
    "ChecksumError",
    "ColourSpace",
    "ColourType",
    "FORMAT_MAJOR",
    "CorruptFileError",
    "Header",
    "LATENT_FACTOR",
    "LRCodec",
    "LimitExceededError",
    "MAX_SIDE",
    "MAX_TIMESTEP",
    "Metadata",
    "PatchGrid",
    "PatchSummary",
    "READABLE_MAJORS",
    "SCALES",
    "TadmContents",
    "TadmError",
    "TadmReader",
    "TadmWriter",
    "TruncatedFileError",
    "UnknownModelError",
    "UnsupportedFeatureError",
    "UnsupportedVersionError",
    "grid_shape",
    "latent_size_of",
    "patch_count",
    "area_average",
    "patch_starts",
    "read_tadm",
    "recode",
    "write_tadm",
]
