"""A library of plain image files (PNG), served losslessly: the fixture the IIIF validator needs (its test
image under its fixed identifier), and a source with no stored LR. Tests only: the product serves .tadm."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from tadmcodec.serve import IIIFError
from tadmcodec.serve.library import relative_path


@dataclass(frozen=True)
class PlainImage:
    path: Path
    width: int
    height: int
    fingerprint: str
    mode: str
    icc_profile: None = None
    lr_scale: None = None

    def lr(self, box: tuple[int, int, int, int]) -> Image.Image:
        raise AssertionError("a plain image has no LR")

    def decode(self, box: tuple[int, int, int, int]) -> Image.Image:
        with Image.open(self.path) as image:
            return image.crop(box)


class PlainLibrary:
    def __init__(self, root: Path) -> None:
        self.root = root

    def open(self, identifier: str) -> PlainImage:
        path = self.root / (relative_path(identifier) + ".png")
        if not path.is_file():
            raise IIIFError(404, f"no image {identifier!r}")
        with Image.open(path) as image:
            size, mode = image.size, image.mode
        return PlainImage(path, *size, hashlib.sha256(path.read_bytes()).hexdigest(), mode)

    def identifiers(self) -> list[str]:
        return sorted(path.stem for path in self.root.glob("*.png"))
