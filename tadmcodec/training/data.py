"""Random training crops with flips from folders of photographs or from packs, held decoded in memory.

A pack (tools/gpu/pack.py) is an .npz of encoded images: `data` (their bytes, concatenated) and
`offsets` (where each starts, plus the end), so a few thousand crops travel as one small file.
"""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..io.image_input import IMAGE_SUFFIXES
from ..nn.pixels import images_to_tensor


def list_images(folders: list[str | Path]) -> list[Path]:
    """Every image file under the folders, sorted for reproducibility."""
    paths = sorted(p for folder in folders for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise FileNotFoundError(f"no images under {', '.join(map(str, folders))}")
    return paths


def read_pack(path: str | Path) -> list[np.ndarray]:
    """The RGB images of a pack, decoded."""
    with np.load(path) as pack:
        data, offsets = pack["data"], pack["offsets"]
    images = []
    for start, end in itertools.pairwise(offsets):
        with Image.open(io.BytesIO(data[start:end].tobytes())) as image:
            images.append(np.asarray(image.convert("RGB")))
    return images


def load_sources(sources: list[str | Path], limit: int | None = None) -> list[np.ndarray]:
    """RGB images from folders and .npz packs, in order."""
    packs = [s for s in sources if str(s).endswith(".npz")]
    folders = [s for s in sources if not str(s).endswith(".npz")]
    images = [image for pack in packs for image in read_pack(pack)]
    for path in list_images(folders)[:limit] if folders else []:
        with Image.open(path) as image:
            images.append(np.asarray(image.convert("RGB")))
    return images[:limit]


class CropSampler:
    """Draws batches of random `crop` x `crop` RGB crops, flipped at random, as floats in [-1, 1]."""

    def __init__(self, folders: list[str | Path], crop: int, seed: int = 0, limit: int | None = None) -> None:
        self.crop = crop
        self.rng = np.random.default_rng(seed)
        self.images = []
        for rgb in load_sources(folders, limit):
            if min(rgb.shape[:2]) < crop:
                size = (max(crop, rgb.shape[1]), max(crop, rgb.shape[0]))
                rgb = np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BICUBIC))
            self.images.append(rgb)

    def batch(self, size: int, per_image: int = 1) -> torch.Tensor:
        """`size` crops from size / per_image random images, `per_image` consecutive crops from each (so
        that a loss can compare regions of one image, as a per-image measure does)."""
        if size % per_image:
            raise ValueError(f"a batch of {size} crops cannot take {per_image} from each image")
        crops = []
        for index in np.repeat(self.rng.integers(0, len(self.images), size // per_image), per_image):
            image = self.images[index]
            y = self.rng.integers(0, image.shape[0] - self.crop + 1)
            x = self.rng.integers(0, image.shape[1] - self.crop + 1)
            crop = image[y : y + self.crop, x : x + self.crop]
            if self.rng.random() < 0.5:
                crop = crop[:, ::-1]
            if self.rng.random() < 0.5:
                crop = crop[::-1]
            crops.append(np.ascontiguousarray(crop))
        return images_to_tensor(np.stack(crops))
