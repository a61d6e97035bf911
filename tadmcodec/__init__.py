"""tadmcodec: a learned extreme-rescaling image codec (TADM) and its .tadm file format.

Importing this package is cheap: it does not import torch. The model code loads only when
pixels beyond the stored thumbnail are requested, and decoding on the CPU runs without torch
(tadmcodec.runtime.decoders).
"""

from tadmcodec_formats import Header, TadmError, UnknownModelError

# Registers the Pillow plugin (torch-free), as `import pillow_avif` does.
from tadmcodec_plugins import pillow as _pillow_plugin  # noqa: F401

from .api import EncodeResult, decode, decode_to_file, encode, read_header, read_thumbnail
from .options import DecodeOptions, EncodeOptions
from .runtime.cpu_threads import set_cpu_threads
from .tadm_file import TadmFile, open
from .version import __version__

__all__ = [
    "DecodeOptions",
    "EncodeOptions",
    "EncodeResult",
    "Header",
    "TadmFile",
    "TadmError",
    "UnknownModelError",
    "__version__",
    "decode",
    "decode_to_file",
    "encode",
    "open",
    "read_header",
    "read_thumbnail",
    "set_cpu_threads",
]
