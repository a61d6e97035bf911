"""ST-LPIPS (shift-tolerant LPIPS; Ghildyal & Liu, ECCV 2022): the project's perceptual distance.

Written here from the paper's description and the published state dicts of the `stlpips-pytorch` wheel
(version 0.0.2, BSD-2; `python -m tadmcodec.quality.stlpips` downloads it with pip, without its dependencies,
and checks these hashes; the first load() does the same):
AlexNet or VGG16 trunks made shift-tolerant by anti-aliasing (each stride-2 step is a 3x3 binomial blur
on a reflection-padded map, preceded by a stride-1 max pool; AlexNet's first conv has stride 1), and
LPIPS's learned 1x1 heads on the unit-normalised feature differences of five layers, spatially averaged
and summed. 0 means identical; larger is more different. Inputs are RGB in [-1, 1].

A loss alone games its own network: train with one network, judge with the other (issue 29).
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tempfile
import zipfile
from collections import OrderedDict
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import MissingWeightsError

WEIGHT_FILES = {
    "alex": ("alex_shift_tolerant.pth", "b356b382f96010f77d085ee8343ecd9fd322d0a56e8de2b2d0549fafcad8b9ee"),
    "vgg": ("vgg_shift_tolerant.pth", "44597da68f49c1837c100ff52299050f274d102eb102e5837178c79be6f0e250"),
}
WHEEL = "stlpips-pytorch==0.0.2"
PRIORS_ENV = "TADMCODEC_PRIORS"

# Each trunk as five slices of (module index in the published state dict, layer); layer: ("conv", in,
# out, kernel, stride, padding), ("blur", channels), ("pool", kernel), ("relu",).
_ALEX = [
    [(0, ("conv", 3, 64, 11, 1, 2)), (1, ("blur", 64)), (2, ("relu",))],
    [(3, ("pool", 3)), (4, ("blur", 64)), (5, ("conv", 64, 192, 5, 1, 2)), (6, ("relu",))],
    [(7, ("pool", 3)), (8, ("blur", 192)), (9, ("conv", 192, 384, 3, 1, 1)), (10, ("relu",))],
    [(11, ("conv", 384, 256, 3, 1, 1)), (12, ("relu",))],
    [(13, ("conv", 256, 256, 3, 1, 1)), (14, ("relu",))],
]


def _vgg_slices() -> list[list[tuple[int, tuple]]]:
    """VGG16's 13 convs in five stages, each stage after the first entered by max pool (2, stride 1)
    and blur (stride 2)."""
    stages, slices, index, channels = [[64, 64], [128, 128], [256] * 3, [512] * 3, [512] * 3], [], 0, 3
    for number, widths in enumerate(stages):
        layers = []
        if number:
            layers += [(index, ("pool", 2)), (index + 1, ("blur", channels))]
            index += 2
        for width in widths:
            layers += [(index, ("conv", channels, width, 3, 1, 1)), (index + 1, ("relu",))]
            channels, index = width, index + 2
        slices.append(layers)
    return slices


TRUNKS = {"alex": (_ALEX, (64, 192, 384, 256, 256)), "vgg": (_vgg_slices(), (64, 128, 256, 512, 512))}


class _Blur(nn.Module):
    """Anti-aliased stride-2 subsampling: reflection pad 2, then a 3x3 binomial filter per channel."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        taps = torch.tensor([1.0, 2.0, 1.0])
        kernel = taps[:, None] * taps[None, :]
        self.register_buffer("filt", (kernel / kernel.sum()).expand(channels, 1, 3, 3).clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), self.filt, stride=2, groups=x.shape[1])


def _layer(spec: tuple) -> nn.Module:
    kind = spec[0]
    if kind == "conv":
        _, c_in, c_out, kernel, stride, padding = spec
        return nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding)
    if kind == "blur":
        return _Blur(spec[1])
    if kind == "pool":
        return nn.MaxPool2d(spec[1], stride=1)
    return nn.ReLU()


class STLPIPS(nn.Module):
    """The ST-LPIPS distance of one network ("alex" or "vgg"); frozen, in eval mode."""

    def __init__(self, network: str) -> None:
        super().__init__()
        slices, widths = TRUNKS[network]
        self.network = network
        self.register_buffer("shift", torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1))
        self.slices = nn.ModuleList(
            nn.Sequential(OrderedDict((str(index), _layer(spec)) for index, spec in layers)) for layers in slices
        )
        self.heads = nn.ModuleList(nn.Conv2d(width, 1, 1, bias=False) for width in widths)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The five unit-normalised feature maps of RGB images in [-1, 1]."""
        h, out = (x - self.shift) / self.scale, []
        for stage in self.slices:
            h = stage(h)
            out.append(h / (h.pow(2).sum(1, keepdim=True).sqrt() + 1e-10))
        return out

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Distance per image pair, shape (B,)."""
        total = a.new_zeros(a.shape[0])
        for head, fa, fb in zip(self.heads, self.features(a), self.features(b), strict=True):
            total = total + head((fa - fb) ** 2).mean((1, 2, 3))
        return total

    def load_published(self, state: dict[str, torch.Tensor]) -> None:
        """Load the wheel's state dict (its keys: scaling_layer.*, net.sliceK.I.*, linK.model.1.weight)."""
        mine = {"shift": state["scaling_layer.shift"], "scale": state["scaling_layer.scale"]}
        for key, value in state.items():
            if key.startswith("net.slice"):
                number, rest = key[len("net.slice") :].split(".", 1)
                mine[f"slices.{int(number) - 1}.{rest}"] = value
            elif key.startswith("lin"):
                mine[f"heads.{int(key[3])}.weight"] = value
        self.load_state_dict(mine)


def weights_folder() -> Path:
    """Where the wheel-borne prior files live: $TADMCODEC_PRIORS, else ~/.cache/tadmcodec/priors."""
    return Path(os.environ.get(PRIORS_ENV) or Path.home() / ".cache" / "tadmcodec" / "priors")


_LOADED: dict[str, STLPIPS] = {}


def fetch() -> Path:
    """Download the wheel with pip (no dependencies: it imports torchvision, IPython and torchsummary,
    which these networks never need) unless its weight files are already in place; unpack the two weight
    files and the wheel's license into weights_folder()/stlpips; returns that folder."""
    folder = weights_folder() / "stlpips"
    if all((folder / name).is_file() for name, _ in WEIGHT_FILES.values()):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    print(f"fetching the ST-LPIPS weights ({WHEEL}) into {folder}", file=sys.stderr)
    with tempfile.TemporaryDirectory() as scratch:
        command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", WHEEL, "-d", scratch]
        if subprocess.run(command, capture_output=True).returncode != 0:
            raise MissingWeightsError(f"cannot download {WHEEL} with pip: ST-LPIPS needs its weight files")
        with zipfile.ZipFile(next(Path(scratch).glob("*.whl"))) as archive:
            for member in archive.namelist():
                if member.endswith(".pth") or member.endswith("licenses/LICENSE"):
                    (folder / Path(member).name).write_bytes(archive.read(member))
    return folder


def load(network: str) -> STLPIPS:
    """The frozen ST-LPIPS network, its weight file (fetched if missing) checked against the published
    SHA-256; loaded once per process."""
    if network not in _LOADED:
        name, digest = WEIGHT_FILES[network]
        path = fetch() / name
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != digest:
            raise MissingWeightsError(f"{path}: SHA-256 differs from the published {digest}")
        model = STLPIPS(network)
        model.load_published(torch.load(io.BytesIO(data), map_location="cpu", weights_only=True))
        _LOADED[network] = model.eval().requires_grad_(False)
    return _LOADED[network]


if __name__ == "__main__":
    print(fetch())
