"""One model's decoding on any runtime: the patch-grid checks, the detail dial, streamed uint8 blocks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from tadmcodec_formats import CorruptFileError, PatchGrid, PatchSummary, grid_shape, latent_size_of

from ..errors import TadmError
from ..io.progress import Progress
from ..io.raster import Box, Raster
from ..options import MAX_DETAIL
from .networks import DecodingNetworks, to_uint8_images
from .patch_renderer import PatchRenderer
from .texture_stage import TexturedRenderer, texture_positions


class ImageDecoder:
    """One model's decoding (any runtime): patch-grid checks, the detail dial, streamed blocks."""

    def __init__(self, networks: DecodingNetworks, batch_size: int = 4) -> None:
        self.networks, self.batch_size = networks, batch_size

    @property
    def name(self) -> str:
        return self.networks.name

    @property
    def digest(self) -> bytes:
        return self.networks.digest

    @property
    def config(self) -> Any:
        return self.networks.config

    def patch_renderer(
        self, source: Raster, grid: PatchGrid, detail: float | None = None, stored_timesteps: np.ndarray | None = None
    ) -> PatchRenderer | TexturedRenderer:
        """A tiled decoder for one image's LR raster and patch grid; a grid this model did not write (a
        CRC-valid but hostile file) is refused before any model runs.

        `detail` (None: the model's detail_strength) is the fidelity/realism dial. A model with a texture
        prior blends its rendered (0) into its refined (1) pixels. A detail-synthesising model adds detail
        times the original's texture energy that the stored timesteps `stored_timesteps` encode (default: the
        grid's own; the timestep dial does not change it)."""
        config = self.config
        check_grid(config, self.name, (source.width, source.height), grid)
        detail = config.detail_strength if detail is None else detail
        if not 0.0 <= detail <= MAX_DETAIL:
            raise TadmError(f"detail {detail}: use 0 (none) to {MAX_DETAIL}")
        energy = None
        if detail > 0 and self.networks.synthesises_detail:
            stored = grid.timesteps if stored_timesteps is None else stored_timesteps
            energy = detail * texture_energy(np.asarray(stored, np.float64), config.texture_timesteps)
        renderer = PatchRenderer(
            self.networks, source, grid.patch_size, grid.overlap, grid.timesteps, self.batch_size, energy
        )
        if detail > 0 and self.networks.has_texture_prior:
            stored = grid.timesteps if stored_timesteps is None else stored_timesteps
            positions = texture_positions(stored, config.texture_timesteps) if self.networks.reads_texture else None
            return TexturedRenderer(renderer, self.networks, detail, positions)
        return renderer

    def decode(
        self,
        source: Raster,
        grid: PatchGrid,
        size: tuple[int, int],
        box: Box | None = None,
        progress: Progress | None = None,
        detail: float | None = None,
        stored_timesteps: np.ndarray | None = None,
    ) -> np.ndarray:
        """The (h, w, 3) uint8 pixels of box (default: the whole width x height image), assembled from
        streamed blocks, so memory is the uint8 result plus one row of patches."""
        x0, y0, x1, y1 = box or (0, 0, *size)
        pixels = np.empty((y1 - y0, x1 - x0, 3), np.uint8)
        for (bx0, by0, bx1, by1), block in self.decode_blocks(
            source, grid, (x0, y0, x1, y1), 512, progress, detail, stored_timesteps
        ):
            pixels[by0 - y0 : by1 - y0, bx0 - x0 : bx1 - x0] = block
        return pixels

    def decode_blocks(
        self,
        source: Raster,
        grid: PatchGrid,
        box: Box,
        block: int,
        progress: Progress | None = None,
        detail: float | None = None,
        stored_timesteps: np.ndarray | None = None,
    ) -> Iterator[tuple[Box, np.ndarray]]:
        """(block box, (h, w, 3) uint8 pixels) for block x block tiles of box in raster order, streamed;
        detail and stored_timesteps as patch_renderer() takes them."""
        decoder = self.patch_renderer(source, grid, detail, stored_timesteps)
        if progress is not None:
            progress.reset(decoder.work(box))
        for block_box, pixels in decoder.blocks(box, block, progress):
            yield block_box, to_uint8_images(pixels[None])[0]


def check_grid(config: Any, model: str, lr_size: tuple[int, int], grid: PatchGrid | PatchSummary) -> None:
    """Refuse, in one line, a CRC-valid patch grid that the named model cannot have written: its patch
    size, overlap, grid shape (for the LR at the model's scale) and timestep range must be the model's."""
    if (grid.patch_size, grid.overlap) != (config.patch_size, config.patch_overlap):
        raise CorruptFileError(
            f"PTCH patch size {grid.patch_size} / overlap {grid.overlap}: model {model!r} uses "
            f"{config.patch_size} / {config.patch_overlap}"
        )
    want = grid_shape(*latent_size_of(*lr_size, config.scale), grid.patch_size, grid.overlap)
    if (grid.rows, grid.cols) != want:
        raise CorruptFileError(
            f"PTCH grid {grid.rows}x{grid.cols} does not fit model {model!r} ({config.scale}x): a "
            f"{lr_size[0]}x{lr_size[1]} LR at its scale has {want[0]}x{want[1]} patches"
        )
    if grid.timestep_max >= config.num_timesteps:
        raise CorruptFileError(
            f"PTCH timestep {grid.timestep_max} is beyond model {model!r}'s {config.num_timesteps} steps"
        )


def texture_energy(t: np.ndarray, texture_timesteps: tuple[float, float, int, int] | None) -> np.ndarray:
    """The detail energy D that stored timesteps t encode: the inverse of the encoder's texture timesteps
    (TADM.texture_timesteps; clamped to its range), zero for a model whose timesteps do not come from
    texture."""
    if texture_timesteps is None:
        return np.zeros_like(t, np.float64)
    log_low, log_high, t_low, t_high = texture_timesteps
    position = np.clip((t - t_low) / (t_high - t_low), 0, 1)
    return np.expm1(log_low + (log_high - log_low) * position)
