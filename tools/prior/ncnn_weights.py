"""Read Real-ESRGAN's `realesr-general-x4v3` from its ncnn files into a TexturePrior's state dict.

ncnn layout (../shared/priors/README.md): per layer in .param order, a Convolution stores a 4-byte tag
(0x01306B47: fp16 values follow), num_output * k * k * c_in weights in OIHW order, then its fp32 bias;
a PReLU stores its fp32 slopes. The file must be consumed exactly. The first conv (on quarter-size RGB)
is spread over the 4x4-folded full-size input (tadmcodec.models.texture_prior.spread_first_conv).

    python -m tools.prior.ncnn_weights ../shared/priors/realesr-general-x4v3 OUT_FOLDER
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np
import torch

from tadmcodec.models.texture_prior import TexturePrior, spread_first_conv

FP16_TAG = 0x01306B47
GENERAL_X4V3_SHA256 = "01450f4a79b81c0f1f3eeefc31121167886125c25e41a6d4773e8ec8062528a1"


def read_layers(param: Path, weights: Path) -> list[tuple[str, list[np.ndarray]]]:
    """(layer type, [arrays]) for each Convolution ([weight OIHW, bias]) and PReLU ([slopes])."""
    data = weights.read_bytes()
    if hashlib.sha256(data).hexdigest() != GENERAL_X4V3_SHA256:
        raise ValueError(f"{weights}: SHA-256 differs from realesr-general-x4v3's {GENERAL_X4V3_SHA256}")
    offset, layers = 0, []
    in_channels = 3
    for line in param.read_text().splitlines()[2:]:
        fields = line.split()
        kind = fields[0]
        options = dict(f.split("=", 1) for f in fields[6:] if "=" in f)
        if kind == "Convolution":
            out, kernel, count = int(options["0"]), int(options["1"]), int(options["6"])
            tag = int.from_bytes(data[offset : offset + 4], "little")
            if tag != FP16_TAG:
                raise ValueError(f"{fields[1]}: weight tag {tag:#x}, expected fp16 {FP16_TAG:#x}")
            offset += 4
            weight = np.frombuffer(data, np.float16, count, offset).astype(np.float32)
            offset += 2 * count
            bias = np.frombuffer(data, np.float32, out, offset).copy()
            offset += 4 * out
            layers.append((kind, [weight.reshape(out, in_channels, kernel, kernel), bias]))
            in_channels = out
        elif kind == "PReLU":
            count = int(options["0"])
            layers.append((kind, [np.frombuffer(data, np.float32, count, offset).copy()]))
            offset += 4 * count
    if offset != len(data):
        raise ValueError(f"{weights}: {len(data) - offset} bytes left after the last layer")
    return layers


def general_x4v3_state(folder: Path, texture_input: bool = False) -> dict[str, torch.Tensor]:
    """The TexturePrior(64, 32) state dict of realesr-general-x4v3 from FOLDER/realesr-general-x4v3.*"""
    layers = read_layers(folder / "realesr-general-x4v3.param", folder / "realesr-general-x4v3.bin")
    state: dict[str, torch.Tensor] = {}
    for index, (kind, arrays) in enumerate(layers):
        if kind == "Convolution":
            weight = torch.from_numpy(arrays[0])
            state[f"body.{index}.weight"] = spread_first_conv(weight, texture_input) if index == 0 else weight
            state[f"body.{index}.bias"] = torch.from_numpy(arrays[1])
        else:
            state[f"body.{index}.weight"] = torch.from_numpy(arrays[0])
    return state


def general_x4v3(folder: Path, texture_input: bool = False) -> TexturePrior:
    """realesr-general-x4v3 as a TexturePrior on the folded full-size decode."""
    prior = TexturePrior(width=64, depth=32, texture_input=texture_input)
    prior.load_state_dict(general_x4v3_state(folder, texture_input))
    return prior.eval()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Save realesr-general-x4v3 as a TexturePrior folder")
    parser.add_argument("source", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--texture-input", action="store_true", help="a texture channel (zero weights) too")
    arguments = parser.parse_args()
    general_x4v3(arguments.source, arguments.texture_input).save_pretrained(arguments.out)
