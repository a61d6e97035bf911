"""The learned codec on arrays: RGB uint8 in, LR + patch grid out, and back, on a chosen device."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import torch

from tadmcodec_formats import CorruptFileError, Header, PatchGrid, UnknownModelError

from .device import resolve_device
from .errors import TadmError
from .model_folder import load_model_folder
from .models.algorithm import TADM
from .pipeline.decode import TiledDecoder
from .pipeline.encode import TiledEncoder
from .pixels import tensor_to_images
from .progress import Progress
from .raster import ArrayRaster, Box, Raster
from .registry import resolve_model

MAX_DETAIL = 2.0  # the decoder is trained up to 1; beyond 2 it only adds noise

_LOADED: dict[tuple[str, str], TADM] = {}
_LOADING = threading.Lock()


class Codec:
    """One loaded model on one device."""

    def __init__(self, model: TADM, device: str | torch.device | None = None, batch_size: int = 4) -> None:
        self.device = resolve_device(device)
        self.model = model.to(self.device)
        self.batch_size = batch_size

    @classmethod
    def load(cls, name: str, device: str | torch.device | None = None, allow_path: bool = False) -> Codec:
        """A codec for an installed model name, or with allow_path (a model the user names, never one a
        file names) a model folder path; loaded once per process and device, LoRA merged."""
        resolved = resolve_device(device)
        folder = resolve_model(name, allow_path)
        key = (str(folder.resolve()), str(resolved))
        with _LOADING:
            if key not in _LOADED:
                _LOADED[key] = load_model_folder(folder).for_inference().to(resolved)
        return cls(_LOADED[key], resolved)

    @classmethod
    def for_header(cls, header: Header, device: str | torch.device | None = None) -> Codec:
        """The codec of the model that encoded a file; refuses a missing or different model."""
        try:
            codec = cls.load(header.model_id, device)
        except UnknownModelError as err:
            message = f"the file was encoded with model {header.model_id!r}, which is not installed: {err}"
            raise UnknownModelError(message) from None
        if codec.model.digest != header.model_sha256:
            raise UnknownModelError(
                f"the file was encoded with model {header.model_id!r} sha256 {header.model_sha256.hex()[:16]}..., "
                f"but the installed {header.model_id!r} has sha256 {codec.model.digest.hex()[:16]}...: "
                "install the model version that encoded it"
            )
        return codec

    @property
    def scale(self) -> int:
        return self.model.scale

    def encode(self, rgb: np.ndarray | Raster, progress: Progress | None = None) -> tuple[np.ndarray, PatchGrid]:
        """(H, W, 3) uint8 pixels (an array or a Raster read tile by tile) to the quantized LR
        (ceil(H/s), ceil(W/s), 3) and the patch grid."""
        image = ArrayRaster(rgb) if isinstance(rgb, np.ndarray) else rgb
        encoder = TiledEncoder(self.model, self.device, self.batch_size)
        if progress is not None:
            progress.reset(encoder.work(image.width, image.height))
        lr, texture = encoder.downscale(image, progress)
        config = self.model.config
        steps = encoder.timesteps(lr, progress, texture=texture)
        return lr, PatchGrid(config.patch_size, config.patch_overlap, steps)

    def decoder(self, source: Raster, grid: PatchGrid, detail: float | None = None,
                texture: np.ndarray | None = None) -> TiledDecoder:  # fmt: skip
        """A tiled decoder for one image's LR raster and patch grid; a grid this model did not write (a
        CRC-valid but hostile file) is refused before any model runs.

        A detail-synthesising model adds `detail` (None: the model's detail_strength) times the original's
        texture energy that the stored timesteps `texture` encode (default: the grid's own; the timestep
        dial does not change it)."""
        config = self.model.config
        if (grid.patch_size, grid.overlap) != (config.patch_size, config.patch_overlap):
            raise CorruptFileError(
                f"PTCH patch size {grid.patch_size} / overlap {grid.overlap}: model {self.model.name!r} uses "
                f"{config.patch_size} / {config.patch_overlap}"
            )
        detail = config.detail_strength if detail is None else detail
        if not 0.0 <= detail <= MAX_DETAIL:
            raise TadmError(f"detail {detail}: use 0 (none) to {MAX_DETAIL}")
        energy = None
        if detail > 0 and self.model.synthesises_detail:
            stored = grid.timesteps if texture is None else texture
            energy = detail * self.model.texture_energy(torch.as_tensor(stored, dtype=torch.float64)).numpy()
        return TiledDecoder(self.model, self.device, source, grid.patch_size, grid.overlap, grid.timesteps,
                            self.batch_size, energy)  # fmt: skip

    def decode(self, source: Raster, grid: PatchGrid, size: tuple[int, int], box: Box | None = None,
               progress: Progress | None = None, detail: float | None = None,
               texture: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
        """The (h, w, 3) uint8 pixels of box (default: the whole width x height image), assembled from
        streamed blocks, so memory is the uint8 result plus one row of patches."""
        x0, y0, x1, y1 = box or (0, 0, *size)
        pixels = np.empty((y1 - y0, x1 - x0, 3), np.uint8)
        for (bx0, by0, bx1, by1), block in self.decode_blocks(
            source, grid, (x0, y0, x1, y1), 512, progress, detail, texture
        ):
            pixels[by0 - y0 : by1 - y0, bx0 - x0 : bx1 - x0] = block
        return pixels

    def decode_blocks(self, source: Raster, grid: PatchGrid, box: Box, block: int, progress: Progress | None = None,
                      detail: float | None = None, texture: np.ndarray | None = None
                      ) -> Iterator[tuple[Box, np.ndarray]]:  # fmt: skip
        """(block box, (h, w, 3) uint8 pixels) for block x block tiles of box in raster order, streamed;
        detail and texture as decoder() takes them."""
        decoder = self.decoder(source, grid, detail, texture)
        if progress is not None:
            progress.reset(decoder.work(box))
        for block_box, pixels in decoder.blocks(box, block, progress):
            yield block_box, tensor_to_images(pixels[None])[0]
