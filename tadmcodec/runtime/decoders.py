"""Decoding with the model that encoded a file, on a chosen runtime; importing this module does not
import torch, and neither does decoding on the onnx runtime.

    runtime "torch"  torch on any device: the definition models are trained, released and archived with
    runtime "onnx"   ONNX Runtime on the CPU, with graphs exported at release and the model's own weights
                     (tadmcodec.runtime.onnx_networks): starts without importing torch; its pixels stay within the
                     archival tolerance of torch's (tests/quality/test_decode_reference.py), not bit-equal
    runtime "auto"   onnx for a model that has graphs, on the CPU (no device named, or "cpu", and no
                     NVIDIA GPU present), onnxruntime installed and no synthesised detail asked for;
                     torch otherwise
"""

from __future__ import annotations

import threading
from pathlib import Path

from tadmcodec_formats import CorruptFileError, Header, PatchGrid, PatchSummary, UnknownModelError

from ..errors import TadmError
from ..options import RUNTIMES
from ..pipeline.image_decoder import ImageDecoder, check_grid
from ..pipeline.networks import DecodingNetworks
from ..store.folder import model_digest, read_config
from ..store.registry import resolve_model
from . import onnx_networks
from .cpu_threads import cpu_threads
from .extras import require_torch

_LOADED: dict[tuple[str, int | None], DecodingNetworks] = {}
_LOADING = threading.Lock()


def decoder_for_header(
    header: Header, device: str | None = None, runtime: str = "auto", detail: float | None = None
) -> ImageDecoder:
    """The decoder of the model that encoded a file, on the runtime chosen (see the module docstring) for
    the device and the `detail` asked for; refuses a missing or different model."""
    try:
        decoder = load_decoder(header.model_id, device, runtime, detail)
    except UnknownModelError as err:
        message = f"the file was encoded with model {header.model_id!r}, which is not installed: {err}"
        raise UnknownModelError(message) from None
    _check_scale(header, decoder.networks.scale)
    if not header.matches_model(decoder.digest):
        raise UnknownModelError(
            f"the file was encoded with model {header.model_id!r} sha256 {header.model_sha256.hex()[:16]}..., "
            f"but the installed {header.model_id!r} has sha256 {decoder.digest.hex()[:16]}...: "
            "install the model version that encoded it"
        )
    return decoder


def load_decoder(
    name: str, device: str | None = None, runtime: str = "auto", detail: float | None = None, allow_path: bool = False
) -> ImageDecoder:
    """The decoder of an installed model (with allow_path, also a model folder the user names) on the
    runtime chosen for the device and the detail asked for; loaded once per process."""
    if runtime not in RUNTIMES:
        raise TadmError(f"runtime {runtime!r}: use {', '.join(RUNTIMES)}")
    folder = resolve_model(name, allow_path)
    why_torch = "the torch runtime"
    if runtime != "torch":
        reason = _onnx_unusable(folder, device, detail)
        if reason is None:
            return ImageDecoder(_onnx_networks(folder))
        if runtime == "onnx":
            raise TadmError(f"runtime onnx cannot decode with model {folder.name!r}: {reason}")
        why_torch = f"decoding with model {folder.name!r} ({reason})"
    require_torch(why_torch)
    from .codec import Codec

    return Codec.load(name, device, allow_path).decoder


def check_against_model(header: Header, grid: PatchGrid | PatchSummary) -> None:
    """What a decode checks of a file against the installed model it names, without torch or weights
    loading (`tadmcodec verify`): the model's digest, scale, patch size, overlap, grid shape and timestep
    range. UnknownModelError when the model is not installed; CorruptFileError when they disagree."""
    folder = resolve_model(header.model_id)
    if not header.matches_model(model_digest(folder)):
        raise UnknownModelError(f"the installed {header.model_id!r} is another version than the file's")
    config = read_config(folder)
    _check_scale(header, config.scale)
    check_grid(config, header.model_id, (header.lr_width, header.lr_height), grid)


def _check_scale(header: Header, scale: int) -> None:
    if header.scale != scale:
        raise CorruptFileError(
            f"the header says {header.scale}x but names model {header.model_id!r}, which is {scale}x"
        )


def _onnx_unusable(folder: Path, device: str | None, detail: float | None) -> str | None:
    """Why the onnx runtime cannot serve this model, device and detail (None: it can)."""
    if device not in (None, "auto", "cpu"):
        return f"it runs on the CPU only, not on {device!r}"
    if device != "cpu" and onnx_networks.gpu_present():
        return "a GPU is present (name device 'cpu' to decode on the CPU)"
    return onnx_networks.unusable_reason(folder, detail)


def _onnx_networks(folder: Path) -> DecodingNetworks:
    key = (str(folder.resolve()), cpu_threads())
    with _LOADING:
        if key not in _LOADED:
            _LOADED[key] = onnx_networks.OnnxNetworks.load(folder, cpu_threads())
    return _LOADED[key]
