"""Could a learned static model code the stored LR in fewer bytes than JPEG XL (issue 33)? The ideal code
length of a network that predicts each sample's distribution from what a decoder already has, trained
on the LRs the default models store for training photos, measured on the LRs of other images.

    python -m tools.bench.lr_learned_model IMAGES_FOLDER --train ../shared/data/train [--train-images 400]
        [--limit 12] [--steps 4000] [--out FILE]

The model (a candidate, not a coder): samples in raster order, G then R then B at each pixel; the input
is the ten causal neighbours (west, north, north-west, north-east and the next ring) of all three
channels with a flag per neighbour for "outside the image", and the pixel's channels already coded; a
linear map plus a two-layer MLP (64 units) gives a mixture of four discretised logistics over 0..255
(PixelCNN++'s likelihood). A specification would fix its weights, so it costs nothing per file; bytes
are the sum of -log2 p / 8 plus 2 per image for an arithmetic coder's flush. Decoding it is sequential
(one network evaluation per sample), so its speed is not measured here.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from tools.bench.lr_coding import image_files, photograph, stored_lr
from tools.bench.lr_context_model import FLUSH_BYTES, jxl_bytes
from tools.bench.report import emit

NEIGHBOURS = [(0, -1), (-1, 0), (-1, -1), (-1, 1), (0, -2), (-2, 0), (-1, -2), (-1, 2), (-2, -1), (-2, 1)]
CODING_ORDER = (1, 0, 2)  # G, R, B
MIXTURE = 4


def samples(lr: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, values) of every sample of an (h, w, 3) uint8 LR, in no particular order (all causal
    context is known to the encoder, so the ideal code length needs no sequential pass)."""
    height, width, _ = lr.shape
    unit = lr.astype(np.float32) / 127.5 - 1
    padded = np.pad(unit, ((2, 2), (2, 2), (0, 0)))
    inside = np.pad(np.ones((height, width, 1), np.float32), ((2, 2), (2, 2), (0, 0)))
    inputs, values = [], []
    for order, channel in enumerate(CODING_ORDER):
        own_first = [channel, *(c for c in range(3) if c != channel)]
        features = []
        for dy, dx in NEIGHBOURS:
            window = (slice(2 + dy, 2 + dy + height), slice(2 + dx, 2 + dx + width))
            features += [padded[window][..., own_first], inside[window]]
        coded = np.zeros((height, width, 2), np.float32)
        for slot, earlier in enumerate(CODING_ORDER[:order]):
            coded[..., slot] = unit[..., earlier]
        which = np.zeros((height, width, 3), np.float32)
        which[..., order] = 1
        inputs.append(np.concatenate([*features, coded, which], -1).reshape(height * width, -1))
        values.append(lr[..., channel].reshape(-1))
    return torch.from_numpy(np.concatenate(inputs)), torch.from_numpy(np.concatenate(values).astype(np.int64))


class SampleModel(nn.Module):
    def __init__(self, inputs: int, hidden: int = 64) -> None:
        super().__init__()
        self.linear = nn.Linear(inputs, 3 * MIXTURE)
        self.mlp = nn.Sequential(
            nn.Linear(inputs, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, 3 * MIXTURE)
        )

    def bits(self, inputs: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        """-log2 p(value) per sample under the discretised logistic mixture."""
        mean, log_scale, logit = (self.linear(inputs) + self.mlp(inputs)).split(MIXTURE, -1)
        inverse = torch.exp(-log_scale.clamp(-7, 3))
        centre = values.float()[:, None] / 127.5 - 1
        upper = torch.sigmoid((centre + 1 / 255 - mean) * inverse)
        lower = torch.sigmoid((centre - 1 / 255 - mean) * inverse)
        upper = torch.where(values[:, None] == 255, torch.ones_like(upper), upper)
        lower = torch.where(values[:, None] == 0, torch.zeros_like(lower), lower)
        mass = torch.logsumexp(F.log_softmax(logit, -1) + torch.log((upper - lower).clamp_min(1e-9)), -1)
        return -mass / math.log(2)


def train(lrs: list[np.ndarray], steps: int) -> SampleModel:
    pairs = [samples(lr) for lr in lrs]
    inputs, values = torch.cat([p[0] for p in pairs]), torch.cat([p[1] for p in pairs])
    torch.manual_seed(0)
    model = SampleModel(inputs.shape[1])
    optimiser = torch.optim.Adam(model.parameters(), 2e-3)
    for step in range(steps):
        if step == int(0.7 * steps):
            optimiser.param_groups[0]["lr"] = 5e-4
        batch = torch.randint(0, len(values), (4096,))
        loss = model.bits(inputs[batch], values[batch]).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", type=Path)
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--train-images", type=int, default=400)
    parser.add_argument("--limit", type=int, default=12)
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    training = image_files(args.train, recursive=True)
    training = [training[i] for i in np.random.default_rng(0).permutation(len(training))[: args.train_images]]
    train_lrs = []
    for path in training:
        with Image.open(path) as image:
            rgb = np.asarray(image.convert("RGB"))
        train_lrs += [stored_lr(rgb, 16), stored_lr(rgb, 32)]
    model = train(train_lrs, args.steps)
    paths = image_files(args.images)[: args.limit]
    report: dict[str, Any] = {"images": [p.name for p in paths], "size": [768, 512], "train_images": len(training)}
    for scale in (16, 32):
        learned = jxl = 0.0
        for path in paths:
            lr = stored_lr(photograph(path), scale)
            with torch.no_grad():
                learned += float(model.bits(*samples(lr)).sum()) / 8 + FLUSH_BYTES
            jxl += jxl_bytes(lr, 9)
        report[f"{scale}x"] = {
            "learned_model": round(learned),
            "jxl_e9": round(jxl),
            "over_jxl_e9": round(learned / jxl, 3),
        }
    emit(report, args.out)


if __name__ == "__main__":
    main()
