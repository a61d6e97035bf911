"""Exception types of the TADM container and codec.

Every failure the library detects is a :class:`TadmError`, so callers can catch one type;
the subclasses say what kind of failure it was. Messages name the chunk and file offset. Errors about
a file's bytes (truncated, corrupt, unsupported, beyond limits) are also OSErrors, as Pillow's own
plugins raise for damaged files, so code written for Pillow (`except OSError`) catches them.
"""

from __future__ import annotations


class TadmError(Exception):
    """Base class of every error raised by tadmcodec."""


class TruncatedFileError(TadmError, OSError):
    """The file ends before a structure it declares (a chunk, a tile, the end marker)."""


class CorruptFileError(TadmError, OSError):
    """The bytes contradict the specification: bad signature, bad field, inconsistent sizes."""


class ChecksumError(CorruptFileError):
    """A chunk's CRC32 does not match its type and payload."""


class UnsupportedVersionError(TadmError, OSError):
    """The file's major format version is not one this reader implements."""


class UnsupportedFeatureError(TadmError, OSError):
    """The file uses a critical chunk, codec or field value this reader does not know."""


class LimitExceededError(TadmError, OSError):
    """A declared size is beyond the limits the specification allows (refused before allocating)."""


class UnknownModelError(TadmError):
    """The model named by a file or a caller is not installed or its weights differ."""
