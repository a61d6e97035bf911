"""Pillow plugin for .tadm: open, draft/reduce (served from the stored LR), load, save.

    import tadmcodec_plugins.pillow   # or `import tadmcodec`, which registers it too
    Image.open("scan.tadm").thumbnail((256, 256))   # no model run, no torch import

Image.open is lazy and reads only the header and metadata. draft() and reduce() at or below the
stored LR size return the LR (or a reduction of it) without the model; load() at full size runs the
learned decoder (torch) on the default device. Pillow's MAX_IMAGE_PIXELS check applies to the full
size; for gigapixel files use tadmcodec.read_thumbnail() (no check: it only reads the LR) or raise
Image.MAX_IMAGE_PIXELS deliberately before a full decode.
"""

from __future__ import annotations

from typing import IO, Any

from PIL import Image, ImageFile

from tadmcodec_formats import TadmReader
from tadmcodec_formats.chunks import MAGIC

FORMAT = "TADM"
MIME = "image/x-tadm"
EXTENSION = ".tadm"


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
        self._reader = TadmReader(self.fp)
        header = self._reader.header
        self._size = (header.width, header.height)
        self._mode = header.mode
        self._use_lr = False
        self.tile = []
        self.info.update({
            "tadm_scale": header.scale, "tadm_model": header.model_id,
            "tadm_model_sha256": header.model_sha256.hex(), "tadm_lr_size": (header.lr_width, header.lr_height),
        })  # fmt: skip
        from tadmcodec.image_io import apply_metadata

        apply_metadata(self, self._reader.metadata)

    def draft(self, mode: str | None, size: tuple[int, int] | None) -> tuple[str, tuple[int, int, int, int]] | None:
        """Switch to the stored LR, as JPEG's draft picks a DCT scale, when the LR is at least the image
        fitted (aspect kept) into half of `size`: Image.thumbnail asks draft for twice its final box
        (reducing_gap 2), so a thumbnail that the LR covers never runs the model."""
        header = self._reader.header
        if size is None or self._im is not None or self._use_lr:
            return None
        ratio = min(size[0] / 2 / header.width, size[1] / 2 / header.height)
        if header.lr_width < round(header.width * ratio) or header.lr_height < round(header.height * ratio):
            return None
        self._use_lr = True
        self._size = (header.lr_width, header.lr_height)
        return self.mode, (0, 0, header.width / header.scale, header.height / header.scale)

    def reduce(self, factor: int | tuple[int, int], box: tuple[int, int, int, int] | None = None) -> Image.Image:
        """Reductions by at least the scale come from the LR without the model."""
        fx, fy = (factor, factor) if isinstance(factor, int) else factor
        header = self._reader.header
        if self._im is not None or self._use_lr or min(fx, fy) < header.scale or box not in (None, (0, 0, *self.size)):
            return super().reduce(factor, box)
        width, height = -(-header.width // fx), -(-header.height // fy)
        lr_box = (0, 0, header.width / header.scale, header.height / header.scale)
        return self._thumbnail().resize((width, height), Image.Resampling.BOX, box=lr_box)

    def _thumbnail(self) -> Image.Image:
        from tadmcodec.image_io import lr_thumbnail

        return lr_thumbnail(self._reader.read_lr(), self._reader.header.colour_type)

    def load(self) -> Any:
        if self._im is None:
            if self._use_lr:
                image = self._thumbnail()
            else:
                from tadmcodec.api import decode

                image = decode(self._reader)
            self.im = image.im
            self._size, self._mode = image.size, image.mode
        return Image.Image.load(self)


def _save(image: Image.Image, fp: IO[bytes], filename: str | bytes) -> None:
    from tadmcodec.api import encode

    options = image.encoderinfo
    encode(image, fp, scale=options.get("scale", 16), model=options.get("model"), device=options.get("device"))


def register() -> None:
    """Register open, save, the .tadm extension and the MIME type with Pillow (idempotent)."""
    Image.register_open(FORMAT, TadmImageFile, _accept)
    Image.register_save(FORMAT, _save)
    Image.register_extension(FORMAT, EXTENSION)
    Image.register_mime(FORMAT, MIME)


register()
