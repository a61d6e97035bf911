"""Pillow plugin for .tadm: open, draft/reduce (served from the stored LR), load, save.

    import tadmcodec_plugins.pillow   # or `import tadmcodec`, which registers it with the defaults
    Image.open("scan.tadm").thumbnail((256, 256))   # no model run, no torch import
    tadmcodec_plugins.pillow.register(device="cuda", timestep_scale=0.8)   # options, as pillow-heif takes them

Image.open is lazy and reads only the header and metadata. draft() and reduce() that the stored LR
covers switch to the LR (or a reduction of it) without the model; load() goes through Pillow's own
path (load_prepare allocates the image, the "tadm" decoder fills it block by block), and at full
size the learned decoder (torch) runs. Pillow's MAX_IMAGE_PIXELS check applies to the full size; for
gigapixel files use tadmcodec.read_thumbnail() (no check: it only reads the LR) or raise
Image.MAX_IMAGE_PIXELS deliberately before a full decode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from PIL import Image, ImageFile

from tadmcodec_formats.chunks import MAGIC

if TYPE_CHECKING:
    from tadmcodec.options import DecodeOptions

FORMAT = "TADM"
MIME = "image/x-tadm"
EXTENSION = ".tadm"
DECODER = "tadm"


@dataclass(frozen=True)
class Options:
    """Registration options: how images decode (`decoding`, tadmcodec.options.DecodeOptions, or None
    until the first decode: the plugin imports tadmcodec only then), and how far the stored LR may be
    enlarged to serve a draft() or thumbnail() request before the model is used instead (4: a thumbnail
    up to 4 times the LR's size comes from the LR; 1.0: only when the LR covers it)."""

    decoding: DecodeOptions | None = None
    lr_upscale_limit: float = 4.0


_options = Options()


def _accept(prefix: bytes) -> bool:
    return prefix[: len(MAGIC)] == MAGIC


class TadmImageFile(ImageFile.ImageFile):
    """A lazily decoded .tadm image."""

    format = FORMAT
    format_description = "TADM learned extreme-rescaling image"

    def _open(self) -> None:
        if not _accept(self.fp.read(len(MAGIC))):
            raise SyntaxError("not a TADM file")
        self.fp.seek(0)
        from tadmcodec.io.image_input import apply_metadata
        from tadmcodec.tadm_file import TadmFile

        self.tadm = TadmFile(self.fp, _options.decoding)
        header = self.tadm.header
        self._size = (header.width, header.height)
        self._mode = header.colour_type.mode
        self.tile = [ImageFile._Tile(DECODER, (0, 0, *self._size), 0, (self.tadm, False))]
        self.info.update(
            {
                "tadm_scale": header.scale,
                "tadm_model": header.model_id,
                "tadm_model_sha256": header.model_sha256.hex(),
                "tadm_lr_size": (header.lr_width, header.lr_height),
            }
        )
        apply_metadata(self, self.tadm.metadata)

    def draft(self, mode: str | None, size: tuple[int, int] | None) -> tuple[str, tuple[int, int, int, int]] | None:
        """Switch to the stored LR, as JPEG's draft picks a DCT scale, when the LR (enlarged at most by the
        registered lr_upscale_limit) covers the image fitted into half of `size`: Image.thumbnail asks
        draft for twice its final box (reducing_gap 2), so a thumbnail the LR covers never runs the model."""
        header = self.tadm.header
        if size is None or self._im is not None or self.tile[0].args[1]:
            return None
        ratio = min(size[0] / 2 / header.width, size[1] / 2 / header.height) / _options.lr_upscale_limit
        if header.lr_width < round(header.width * ratio) or header.lr_height < round(header.height * ratio):
            return None
        self._size = (header.lr_width, header.lr_height)
        self.tile = [ImageFile._Tile(DECODER, (0, 0, *self._size), 0, (self.tadm, True))]
        return self.mode, (0, 0, header.width / header.scale, header.height / header.scale)

    def reduce(self, factor: int | tuple[int, int], box: tuple[int, int, int, int] | None = None) -> Image.Image:
        """Reductions by at least the scale come from the LR without the model."""
        fx, fy = (factor, factor) if isinstance(factor, int) else factor
        header = self.tadm.header
        full_size = self._im is None and not self.tile[0].args[1]
        if not full_size or min(fx, fy) < header.scale or box not in (None, (0, 0, *self.size)):
            return super().reduce(factor, box)
        width, height = -(-header.width // fx), -(-header.height // fy)
        lr_box = (0, 0, header.width / header.scale, header.height / header.scale)
        return self.tadm.thumbnail().resize((width, height), Image.Resampling.BOX, box=lr_box)


class TadmDecoder(ImageFile.PyDecoder):
    """Fills the image Pillow allocated: from the stored LR after draft(), else block by block from the
    learned decoder (so a full decode holds Pillow's image plus one row of patches, not a second copy)."""

    _pulls_fd = True

    def decode(self, buffer: bytes) -> tuple[int, int]:
        tadm, from_lr = self.args
        if from_lr:
            self.set_as_raw(tadm.thumbnail().tobytes())
            return -1, 0
        for (x0, y0, x1, y1), pixels in tadm.blocks():
            block = Image._getdecoder(self.mode, "raw", self.mode)
            block.setimage(self.im, (x0, y0, x1, y1))
            block.decode(pixels.tobytes())
            block.cleanup()
        return -1, 0


def _save(image: Image.Image, fp: IO[bytes], filename: str | bytes) -> None:
    from tadmcodec.api import encode

    options = image.encoderinfo
    encode(
        image,
        fp,
        scale=options.get("scale", 16),
        model=options.get("model"),
        device=options.get("device", _options.decoding.device if _options.decoding else None),
    )


def register(*, lr_upscale_limit: float = 4.0, **decoding: Any) -> None:
    """Register open, save, the decoder, the .tadm extension and the MIME type with Pillow, with options
    that apply to every .tadm image opened afterwards: lr_upscale_limit (see Options) and any
    tadmcodec.options.DecodeOptions fields by name (device, runtime, timestep_scale, timestep, detail),
    checked now. Calling it again replaces them."""
    global _options
    if lr_upscale_limit < 1.0:
        raise ValueError(f"lr_upscale_limit must be at least 1.0, got {lr_upscale_limit}")
    options = None
    if decoding:
        from tadmcodec.options import DecodeOptions

        options = DecodeOptions(**decoding)
    _options = Options(options, lr_upscale_limit)
    Image.register_open(FORMAT, TadmImageFile, _accept)
    Image.register_save(FORMAT, _save)
    Image.register_decoder(DECODER, TadmDecoder)
    Image.register_extension(FORMAT, EXTENSION)
    Image.register_mime(FORMAT, MIME)


register()
