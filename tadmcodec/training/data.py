"""Random training crops with flips from folders of photographs, held decoded in memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..image_io import IMAGE_SUFFIXES
from ..pixels import images_to_tensor


def list_images(folders: list[str | Path]) -> list[Path]:
    """Every image file under the folders, sorted for reproducibility."""
    paths = sorted(p for folder in folders for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise FileNotFoundError(f"no images under {', '.join(map(str, folders))}")
    return paths


class CropSampler:
    """Draws batches of random `crop` x `crop` RGB crops, flipped at random, as floats in [-1, 1]."""

    def __init__(self, folders: list[str | Path], crop: int, seed: int = 0, limit: int | None = None) -> None:
        self.crop = crop
        self.rng = np.random.default_rng(seed)
        self.images = []
        for path in list_images(folders)[:limit]:
            with Image.open(path) as image:
                rgb = image.convert("RGB")
            if min(rgb.size) < crop:
                rgb = rgb.resize((max(crop, rgb.width), max(crop, rgb.height)), Image.Resampling.BICUBIC)
            self.images.append(np.asarray(rgb))

    def batch(self, size: int) -> torch.Tensor:
        crops = []
        for index in self.rng.integers(0, len(self.images), size):
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
