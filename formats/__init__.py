"""The .tadm container: specification (SPEC.md), reference reader and writer. Needs no torch."""

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
from .header import MAX_SIDE, SCALES, ColourSpace, ColourType, Header, LRCodec
from .metadata import Metadata
from .patches import MAX_TIMESTEP, PatchGrid, patch_starts
from .reader import TadmContents, TadmReader, read_tadm
from .writer import TadmWriter, write_tadm

__all__ = [
    "ChecksumError",
    "ColourSpace",
    "ColourType",
    "CorruptFileError",
    "Header",
    "LRCodec",
    "LimitExceededError",
    "MAX_SIDE",
    "MAX_TIMESTEP",
    "Metadata",
    "PatchGrid",
    "SCALES",
    "TadmContents",
    "TadmError",
    "TadmReader",
    "TadmWriter",
    "TruncatedFileError",
    "UnknownModelError",
    "UnsupportedFeatureError",
    "UnsupportedVersionError",
    "patch_starts",
    "read_tadm",
    "write_tadm",
]
