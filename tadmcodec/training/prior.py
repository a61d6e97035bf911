"""Fine-tune a texture prior (tadmcodec.models.texture_prior) on the codec's own decodes.

    python -m tadmcodec.training.prior RUN_FOLDER --pairs DIR [DIR ...] --init PRIOR_FOLDER --model MODEL
        [--steps N] [--minutes M] [--set KEY=VALUE ...]

PRIOR_FOLDER is a saved TexturePrior (`python -m tools.prior.ncnn_weights` writes realesr-general-x4v3 as
one). Pairs come from tools/prior/decoded_pairs.py: DIR/NNNNN.png is a decode, DIR/NNNNN.npy the file's
stored timesteps, line NNNNN of DIR/sources.txt its original; MODEL (the model that made them) gives the
patch grid and texture-timestep range that turn timesteps into the texture positions a prior with a
texture input reads, as decoding computes them.

The loss is L1 + ST-LPIPS-VGG (weight `perceptual`) + the thumbnail term (L1 of the scale's area
downscale, weight `thumbnail`) + the pattern term (phase_deviation: without it the perceptual term paints
a 4-pixel canvas over everything; weight `pattern`) + the grid term (gradient_profile: edges where
decoding's 8-pixel latent blocks and the prior's 4-pixel unfolding meet; weight `grid`) + the local
detail term (log detail energy per 16-pixel window against the original's; weight `local_detail`) + the
local spectrum term (log Fourier magnitudes per 16-pixel window; weight `local_spectrum`) + the
overshoot term (how far the output leaves the original's 5x5 range: edge halos; weight `overshoot`) + a hinge
adversarial term from a spectrally normalised patch discriminator (weight `adversarial`); ST-LPIPS-Alex
is left out, to judge. Resumes from
RUN_FOLDER/checkpoint (every `checkpoint_every` steps; pairs added to the folders since are picked up
there) and exports the prior to RUN_FOLDER/prior at each checkpoint: the whole prior, or with
`adapter_rank` R, the initial prior's weights and an adapter of rank-R LoRA factors that the run trains
(tadmcodec.training.prior_adapter: how a new prior fits the package's weight budget).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from tadmcodec_formats import LATENT_FACTOR

from ..models.texture_prior import FACTOR, TexturePrior
from ..nn.pixels import images_to_tensor
from ..pipeline.texture_stage import texture_map
from ..quality import stlpips
from ..quality.metrics import detail_energy_map, luma
from ..store.folder import read_config
from ..store.registry import resolve_model
from .adversarial import PatchDiscriminator, discriminator_hinge_loss, generator_adversarial_loss, random_shift
from .checkpoint import load_checkpoint, save_checkpoint
from .prior_adapter import save_adapter, with_adapter


@dataclass(frozen=True)
class PriorTraining:
    """One fine-tuning run's settings (recorded in RUN_FOLDER/settings.json)."""

    crop: int = 128
    batch: int = 4
    lr: float = 1e-4
    perceptual: float = 1.0
    thumbnail: float = 1.0
    pattern: float = 5.0
    grid: float = 2.0
    local_detail: float = 0.0
    local_spectrum: float = 0.0
    overshoot: float = 0.0
    adversarial: float = 0.05
    adversarial_from: int = 200  # steps of the fidelity and perceptual terms alone first
    checkpoint_every: int = 100
    adapter_rank: int = 0  # 0: the whole prior trains; R: rank-R LoRA factors on the initial prior (prior_adapter)
    threads: int = 2
    seed: int = 0


def phase_deviation(x: torch.Tensor, period: int = FACTOR, area: int = 16) -> torch.Tensor:
    """Per area x area window and colour, each of the period^2 pixel phases' mean minus the window's mean:
    the pattern a generator that unfolds pixels period x period paints when a perceptual loss rewards it
    (tadmcodec.quality.metrics.period_pattern measures it). The loss matches the original's, which is near zero."""
    folded = F.avg_pool2d(F.pixel_unshuffle(x, period), area // period)
    folded = folded.unflatten(1, (x.shape[1], period * period))
    return folded - folded.mean(2, keepdim=True)


def gradient_profile(x: torch.Tensor, period: int = LATENT_FACTOR) -> torch.Tensor:
    """(B, 2, period): the mean absolute horizontal and vertical gradient (over colours) at each pixel
    phase, over the image's mean; a block grid lifts the last phase (tadmcodec.quality.metrics.grid_excess
    measures it) and a 4-pixel one the middle phase too. Crops start on the latent grid, so phases are
    decoding's."""
    profiles = []
    for gradient in ((x[..., :, 1:] - x[..., :, :-1]).abs(), (x[..., 1:, :] - x[..., :-1, :]).abs().transpose(-1, -2)):
        columns = gradient.mean((1, 2))
        columns = columns[:, : columns.shape[1] // period * period]
        profiles.append(columns.unflatten(1, (-1, period)).mean(1) / columns.mean(1, keepdim=True))
    return torch.stack(profiles, 1)


def local_detail(x: torch.Tensor, area: int = 16) -> torch.Tensor:
    """log(1 + D) per area x area window, D the detail energy (tadmcodec.quality.metrics.detail_energy_map)
    that the detail ratio averages: matching it puts texture where the original has some and keeps flat
    areas (skin, sky, glaze) flat, where the perceptual term alone paints a hatch everywhere."""
    return torch.log1p(F.avg_pool2d(detail_energy_map(x), area))


def local_spectrum(x: torch.Tensor, area: int = 16) -> torch.Tensor:
    """log(1 + |FFT|) of the luma in each area x area window (Hann-tapered): matching it keeps texture to the
    orientations and frequencies the original has there, where the perceptual term paints one diagonal
    hatch over everything (a repeated texture the detail energy alone does not see)."""
    y = luma((x.clamp(-1, 1) + 1) / 2)
    windows = F.unfold(y, area, stride=area).transpose(1, 2).unflatten(2, (area, area))
    taper = torch.hann_window(area, periodic=False, device=x.device)
    windows = (windows - windows.mean((-1, -2), keepdim=True)) * (taper[:, None] * taper[None, :])
    return torch.log1p(torch.fft.rfft2(windows).abs() * 255.0)


LOCAL_TERMS = {"local_detail": local_detail, "local_spectrum": local_spectrum}


def overshoot(out: torch.Tensor, original: torch.Tensor, area: int = 5) -> torch.Tensor:
    """How far the output leaves the original's range over each area x area window (mean over pixels):
    the bright and dark outlines (halos) that sharpening draws along edges, which the perceptual term
    rewards and an L1 term barely sees (they are thin). Texture within the original's range costs
    nothing."""
    high = F.max_pool2d(original, area, 1, area // 2)
    low = -F.max_pool2d(-original, area, 1, area // 2)
    return (F.relu(out - high) + F.relu(low - out)).mean()


class DecodedPairs:
    """Aligned random crops (multiples of 8 from the origin, as decoding tiles them) of decodes, their
    originals and texture positions (at latent resolution), with the same random flips and transposes."""

    def __init__(self, folders: list[Path], seed: int, model: Any) -> None:
        """model: the configuration of the model that made the pairs."""
        self.folders, self.rng, self.model = folders, np.random.default_rng(seed), model
        self.pairs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.known: set[Path] = set()
        self.refresh()

    def refresh(self) -> None:
        """Load pairs written since the last call."""
        for folder in self.folders:
            listing = folder / "sources.txt"
            sources = listing.read_text().split() if listing.is_file() else []
            for number, source in enumerate(sources):
                decoded = folder / f"{number:05d}.png"
                if decoded in self.known or not decoded.is_file() or not decoded.with_suffix(".npy").is_file():
                    continue
                with Image.open(decoded) as a, Image.open(source) as b:
                    rgb = np.asarray(a.convert("RGB"))
                    texture = texture_map(np.load(decoded.with_suffix(".npy")), rgb.shape[:2], self.model)
                    self.pairs.append((rgb, np.asarray(b.convert("RGB")), texture))
                self.known.add(decoded)

    def batch(self, size: int, crop: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(decodes, originals, texture positions (B, 1, crop/8, crop/8)) of `size` random crops."""
        decoded, original, textures = [], [], []
        step = LATENT_FACTOR
        for index in self.rng.integers(0, len(self.pairs), size):
            a, b, t = self.pairs[index]
            y = step * self.rng.integers(0, (a.shape[0] - crop) // step + 1)
            x = step * self.rng.integers(0, (a.shape[1] - crop) // step + 1)
            a, b = a[y : y + crop, x : x + crop], b[y : y + crop, x : x + crop]
            t = t[y // step : (y + crop) // step, x // step : (x + crop) // step, None]
            if self.rng.random() < 0.5:
                a, b, t = a[:, ::-1], b[:, ::-1], t[:, ::-1]
            if self.rng.random() < 0.5:
                a, b, t = a[::-1], b[::-1], t[::-1]
            if self.rng.random() < 0.5:
                a, b, t = a.transpose(1, 0, 2), b.transpose(1, 0, 2), t.transpose(1, 0, 2)
            decoded.append(np.ascontiguousarray(a))
            original.append(np.ascontiguousarray(b))
            textures.append(np.ascontiguousarray(t.transpose(2, 0, 1)))
        texture = torch.from_numpy(np.stack(textures).astype(np.float32))
        return images_to_tensor(np.stack(decoded)), images_to_tensor(np.stack(original)), texture


def train_prior(
    run: Path,
    pairs: list[Path],
    init: Path,
    settings: PriorTraining,
    steps: int,
    minutes: float | None,
    model: str,
) -> None:
    """Fine-tune the prior saved in `init` (or RUN/checkpoint's later state) on pairs that `model` (a name
    or folder) made; with settings.adapter_rank, an adapter on it."""
    config = read_config(resolve_model(model, allow_path=True))
    scale = config.scale
    torch.set_num_threads(settings.threads)
    torch.manual_seed(settings.seed)
    run.mkdir(parents=True, exist_ok=True)
    (run / "settings.json").write_text(json.dumps(asdict(settings) | {"model": model}, indent=1))
    prior = TexturePrior.from_pretrained(init)
    if settings.adapter_rank:
        with_adapter(prior, settings.adapter_rank)
    discriminator = PatchDiscriminator()
    trained = [parameter for parameter in prior.parameters() if parameter.requires_grad]
    optimiser = torch.optim.Adam(trained, settings.lr, betas=(0.9, 0.99))
    d_optimiser = torch.optim.Adam(discriminator.parameters(), settings.lr, betas=(0.9, 0.99))
    step, seconds = 0, 0.0
    state = load_checkpoint(run / "checkpoint")
    if state is not None:
        prior.load_state_dict(state["prior"])
        discriminator.load_state_dict(state["discriminator"])
        optimiser.load_state_dict(state["optimiser"])
        d_optimiser.load_state_dict(state["d_optimiser"])
        step, seconds = state["step"], state["seconds"]
    data = DecodedPairs(pairs, settings.seed + step, config)
    vgg = stlpips.load("vgg")
    prior.train()
    start, sums = time.perf_counter(), {}
    while step < steps and (minutes is None or time.perf_counter() - start < 60 * minutes):
        decoded, original, texture = data.batch(settings.batch, settings.crop)
        out = prior(decoded, texture)
        losses = {
            "l1": F.l1_loss(out, original),
            "perceptual": vgg(out, original).mean(),
            "thumbnail": F.l1_loss(F.avg_pool2d(out, scale), F.avg_pool2d(original, scale)),
            "pattern": F.l1_loss(phase_deviation(out), phase_deviation(original)),
            "grid": F.l1_loss(gradient_profile(out), gradient_profile(original)),
        }
        total = losses["l1"] + settings.perceptual * losses["perceptual"] + settings.thumbnail * losses["thumbnail"]
        total = total + settings.pattern * losses["pattern"] + settings.grid * losses["grid"]
        for name, term in LOCAL_TERMS.items():  # computed only when weighted: they cost a blur or an FFT
            if weight := getattr(settings, name):
                losses[name] = F.l1_loss(term(out), term(original))
                total = total + weight * losses[name]
        if settings.overshoot:
            losses["overshoot"] = overshoot(out, original)
            total = total + settings.overshoot * losses["overshoot"]
        adversarial = step >= settings.adversarial_from and settings.adversarial > 0
        if adversarial:
            discriminator.requires_grad_(False)
            losses["adversarial"] = generator_adversarial_loss(discriminator(random_shift(out)))
            total = total + settings.adversarial * losses["adversarial"]
        optimiser.zero_grad(set_to_none=True)
        total.backward()
        optimiser.step()
        if adversarial:
            discriminator.requires_grad_(True)
            d_loss = discriminator_hinge_loss(
                discriminator(random_shift(original)), discriminator(random_shift(out.detach()))
            )
            d_optimiser.zero_grad(set_to_none=True)
            d_loss.backward()
            d_optimiser.step()
            losses["discriminator"] = d_loss
        step += 1
        for key, value in losses.items():
            sums[key] = sums.get(key, 0.0) + value.item()
        if step % settings.checkpoint_every == 0 or step == steps:
            elapsed = seconds + time.perf_counter() - start
            record = {"step": step, "seconds": round(elapsed), "pairs": len(data.pairs)}
            record |= {k: round(v / settings.checkpoint_every, 5) for k, v in sums.items()}
            with open(run / "log.jsonl", "a", encoding="utf-8") as log:
                log.write(json.dumps(record) + "\n")
            sums = {}
            save_checkpoint(
                run / "checkpoint",
                {
                    "prior": prior.state_dict(),
                    "discriminator": discriminator.state_dict(),
                    "optimiser": optimiser.state_dict(),
                    "d_optimiser": d_optimiser.state_dict(),
                    "step": step,
                    "seconds": elapsed,
                },
            )
            if settings.adapter_rank:
                save_adapter(prior, init, run / "prior")
            else:
                prior.save_pretrained(run / "prior")
            data.refresh()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--pairs", type=Path, nargs="+", required=True)
    parser.add_argument(
        "--init",
        type=Path,
        required=True,
        help="a saved prior folder to start from (tools.prior.ncnn_weights writes the pretrained one)",
    )
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--minutes", type=float)
    parser.add_argument("--model", required=True, help="the model that made the pairs (name or folder)")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="PriorTraining fields")
    args = parser.parse_args()
    fields = {k: type(getattr(PriorTraining, k))(v) for k, v in (item.split("=", 1) for item in args.set)}
    train_prior(args.run, args.pairs, args.init, PriorTraining(**fields), args.steps, args.minutes, args.model)


if __name__ == "__main__":
    main()
