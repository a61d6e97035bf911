"""Errors of the learned codec; all are TadmError subclasses, like the container's."""

from tadmcodec_formats.errors import TadmError, UnknownModelError


class MissingWeightsError(TadmError):
    """A model or backbone folder lacks a file, or a file's SHA-256 differs from the pinned one."""


class MissingExtraError(TadmError, ImportError):
    """The work needs an optional dependency that is not installed (torch for encoding): the message
    names the extra to install."""


class DeviceUnavailableError(TadmError):
    """The requested compute device does not exist on this machine."""


class InputImageError(TadmError):
    """An input image cannot be encoded (unreadable, unsupported mode or bit depth, too large)."""


class OutputExistsError(TadmError):
    """The output file exists and no flag allows replacing or skipping it."""


class BatchLockedError(TadmError):
    """Another batch is writing into the same output folder."""


__all__ = [
    "BatchLockedError",
    "DeviceUnavailableError",
    "InputImageError",
    "MissingWeightsError",
    "OutputExistsError",
    "TadmError",
    "UnknownModelError",
]


class InputWarning(UserWarning):
    """Part of an input is not encoded (the frames after the first of an animation)."""


class MetadataDroppedWarning(UserWarning):
    """Metadata the output format cannot hold (JPEG's 64 KB markers) was left out of that output; the
    .tadm file and every other format keep it."""


class LargeImageWarning(UserWarning):
    """An input above PIL.Image.MAX_IMAGE_PIXELS: it is encoded, slowly; twice the limit is refused."""
