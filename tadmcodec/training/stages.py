"""The training stages. Each builds its trainable modules, computes its loss on a batch of crops in
[-1, 1], validates, and exports the result as a backbone or model folder.

    vae     stage 0a: tiny VAE, L1 + image-gradient L1, PCA initialisation
    vae_decoder       a conv (or block + conv "hybrid") decoder for a frozen tiny VAE encoder (same latent
                      space, so the U-Net and TADM models keep working), from the encoder's latents or the
                      models' denoised ones: L1 + gradient L1 + the 8-pixel grid penalty + an
                      adaptive-weighted adversarial term from a patch discriminator trained alongside
    unet    stage 0b: tiny U-Net as a noise predictor on the VAE's latents (DDPM, T = 1000)
    dfrm    stage 1:  DFRM, lambda_rec * L_rec (both paths, with and without quantization) + lambda_gui * L_gui
    enhance stage 2:  LoRA + TPM + learnable scheduler, L1 + lambda_pec * ((1 - MS-SSIM) + gradient L1)
    joint   stage 3:  every module, stage 2's loss plus stage 1's terms, small learning rate (stages 2-3:
                      optionally the grid penalty, loss "grid", and the adversarial term)
    timesteps         the TPM alone: texture ranked above flat areas, the mean timestep held (cheap: no
                      U-Net step or VAE decode in the loss)
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..backbones import Backbone, load_backbone
from ..backbones.tiny import save_tiny_backbone, tiny_unet, tiny_vae
from ..backbones.tiny_vae import TinyAutoencoder
from ..models.algorithm import TADM
from ..models.lora import add_lora
from ..models.tadm import TADMModel
from ..nn.pixels import unit_range
from ..pipeline.networks import to_uint8_images
from ..quality.metrics import detail_ratio, grid_excess, ms_ssim, psnr
from ..runtime.model_loader import load_model_folder, save_model_folder
from ..store.folder import WEIGHT_FILES
from ..store.hashing import copy_resolving_links, copy_weight_file, linked_file
from .adversarial import AdversarialTerm
from .config import BackboneStageConfig, ModelStageConfig, StageConfig, TimestepConfig, VAEDecoderConfig
from .losses import detail_energy_per_image, detail_shortfall, gradient_l1, grid_excess_loss, timestep_rank_loss


def bicubic_baseline(x: torch.Tensor, scale: int) -> torch.Tensor:
    """Antialiased bicubic down- then upscaling of images in [-1, 1]."""
    small = F.interpolate(x, scale_factor=1 / scale, mode="bicubic", antialias=True, align_corners=False)
    return F.interpolate(small, size=x.shape[-2:], mode="bicubic", align_corners=False)


class Stage:
    """Interface of a training stage."""

    def __init__(self, config: StageConfig) -> None:
        self.config = config

    def trainable(self) -> list[nn.Parameter]:
        raise NotImplementedError

    def modules(self) -> dict[str, nn.Module]:
        """Modules whose state a checkpoint must hold."""
        raise NotImplementedError

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        raise NotImplementedError

    def validate(self, x: torch.Tensor) -> dict[str, float]:
        raise NotImplementedError

    def export(self) -> None:
        raise NotImplementedError

    def to(self, device: torch.device) -> None:
        """Move every module the stage holds (trained or frozen, alone or in a list) to the device."""
        for value in vars(self).values():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, nn.Module):
                    item.to(device)
                elif isinstance(item, AdversarialTerm):
                    item.discriminator.to(device)

    def state(self) -> dict[str, Any]:
        """Stage state beyond its modules (an auxiliary optimizer, counters) for the checkpoint."""
        return {}

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore what state() returned."""


class VAEStage(Stage):
    def __init__(self, config: BackboneStageConfig, pca_batch: torch.Tensor | None) -> None:
        super().__init__(config)
        exported = Path(config.backbone) / "vae"
        if (exported / "config.json").is_file():  # continue from the exported (shipped) VAE
            self.vae = TinyAutoencoder.from_pretrained(exported)
        else:
            self.vae = tiny_vae(**config.vae)
            if pca_batch is not None:  # a fresh run; a resumed one loads its checkpoint
                self.vae.init_from_pca(pca_batch)

    def trainable(self) -> list[nn.Parameter]:
        return list(self.vae.parameters())

    def modules(self) -> dict[str, nn.Module]:
        return {"vae": self.vae}

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        y = self.vae.decode(self.vae.encode(x).latent_dist.sample()).sample
        l1, grad = F.l1_loss(y, x), gradient_l1(y, x)
        return l1 + self.config.weight("gradient", 0.5) * grad, {"l1": l1.item(), "grad": grad.item()}

    @torch.no_grad()
    def validate(self, x: torch.Tensor) -> dict[str, float]:
        y = self.vae.decode(self.vae.encode(x).latent_dist.mean).sample
        return {"psnr": psnr(unit_range(y), unit_range(x)).mean().item()}

    def export(self) -> None:
        folder = Path(self.config.backbone)
        save_tiny_backbone(
            folder, vae=self.vae, unet=_existing_unet(folder) or tiny_unet(self.vae.config.latent_channels)
        )


class VAEDecoderStage(Stage):
    """Trains a new decoder on the latents of a backbone's frozen encoder, with a patch discriminator.

    config.decoder is "conv" (default: a fresh conv decoder) or "hybrid" (the backbone's block decoder
    plus a zero-initialised conv residual, so training starts at the block decoder's output). Reads the
    backbone from config.backbone and never writes there; starts from config.init_vae (a decoder
    of that kind trained before), the backbone's own decoder if it is of that kind, or a new one; exports
    a complete backbone (the same encoder, U-Net and scheduler, the new decoder) to config.export.

    The decoder learns from the encoder's latents, or with config.latents_from (model folders on
    this backbone) from what decoding gives it: each model's denoised latent z0 of the crop, the models
    taking turns by step, so it learns to render the smooth latents a one-step decode produces.

    With decoder_options {"detail_head": width} the decoder gains a detail head; "trainable":
    "detail_head" trains it alone, each crop asking for a random fraction (up to loss "detail_max") of
    its own detail energy, with the one-sided "detail" shortfall term beside the fidelity ones.
    """

    def __init__(self, config: VAEDecoderConfig) -> None:
        super().__init__(config)
        source = load_backbone(config.backbone)
        self.vae = self._decoder(config, source.vae)
        self.vae.requires_grad_(False)
        self.head_only = config.trainable == "detail_head"
        for parameter in self.trainable():
            parameter.requires_grad_(True)
        self.unet, self.alphas_cumprod = source.unet, source.alphas_cumprod
        self.adversarial = adversarial_term(config)
        self.sources = [load_model_folder(folder).for_inference() for folder in config.latents_from]
        for model in self.sources:
            if not torch.equal(model.backbone.vae.encode_linear.weight, source.vae.encode_linear.weight):
                raise ValueError(f"{model.folder} is not a model on {config.backbone}")
        self.detail_range = self._detail_range()
        self.steps_taken = 0

    @staticmethod
    def _decoder(config: VAEDecoderConfig, source: TinyAutoencoder) -> TinyAutoencoder:
        """The VAE to train: config.init_vae (a decoder of this kind trained before), the backbone's own
        if it is of this kind, or a new one; config.decoder_options (e.g. detail_head) add to the
        decoder, keeping every weight it had."""
        kind = config.decoder
        if config.init_vae:  # continue a decoder trained before, on this backbone's encoder
            start = TinyAutoencoder.from_pretrained(config.init_vae)
            if not torch.equal(start.encode_linear.weight, source.encode_linear.weight):
                raise ValueError(f"{config.init_vae} has another encoder than {config.backbone}")
        elif source.config.get("decoder", "block") == kind:  # continue the backbone's own decoder
            start = source
        else:
            start = None
        base = {k: v for k, v in (start or source).config.items() if not k.startswith("_")}
        if start is None:
            base |= {"decoder": kind, "decoder_widths": tuple(config.decoder_widths)}
        vae = TinyAutoencoder(**base | config.decoder_options)
        if vae.config.decoder != kind:
            raise ValueError(f"{config.init_vae} has a {vae.config.decoder!r} decoder, not {kind!r}")
        kept = ("encode_", "logvar") + (("decode_", "pixel_refine") if kind == "hybrid" else ())
        state = (start or source).state_dict()
        missing = vae.load_state_dict(
            state if start else {k: v for k, v in state.items() if k.startswith(kept)}, strict=False
        ).missing_keys
        if start and any(not key.startswith("detail_head.") for key in missing):
            raise ValueError(f"decoder_options {config.decoder_options} change trained weights: {missing}")
        return vae

    def _detail_range(self) -> tuple[float, float] | None:
        """The detail energies a file can ask for (the latents_from models' texture-timestep range, which
        decoding inverts), or None for a decoder without detail synthesis."""
        if not self.vae.config.get("detail_head", 0):
            return None
        ranges = [m.config.texture_timesteps for m in self.sources if m.config.texture_timesteps]
        if not ranges:
            raise ValueError("a detail-synthesis decoder trains on latents_from models with texture_timesteps")
        return math.expm1(min(r[0] for r in ranges)), math.expm1(max(r[1] for r in ranges))

    def trainable(self) -> list[nn.Parameter]:
        """The decoder's parameters, or with config.trainable = "detail_head" the detail head's alone (the
        released decoder stays exactly as it was: detail 0 decodes its pixels)."""
        return self.vae.detail_parameters() if self.head_only else self.vae.decoder_parameters()

    def modules(self) -> dict[str, nn.Module]:
        return {"vae": self.vae, "discriminator": self.adversarial.discriminator}

    def _last_layer(self) -> torch.Tensor:
        """The weight at which the adversarial term is balanced against fidelity: the trained part's output."""
        return (self.vae.detail_head if self.head_only else self.vae.conv_decoder).layers[-1].weight

    def _latent(self, x: torch.Tensor, noise: float, source: TADM | None = None) -> torch.Tensor:
        """The encoder's latent, or `source`'s denoised latent z0 (both scaled, as the U-Net sees them),
        with Gaussian noise of std `noise` so the decoder also learns latents near the manifold."""
        config = self.vae.config
        with torch.no_grad():
            if source is None:
                z = (self.vae.encode(x).latent_dist.mean - config.shift_factor) * config.scaling_factor
            else:
                z = source(x, render=False)["z0"]
        return z + torch.randn_like(z) * noise if noise else z

    def _render(
        self, z: torch.Tensor, x: torch.Tensor | None = None, strength: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Decoded crops; a detail-synthesis decoder is asked for `strength` (B,) times the detail energy of
        the original crops x (clamped to what a file can ask for), at random pixel origins on the 8-pixel grid."""
        latent = z / self.vae.config.scaling_factor + self.vae.config.shift_factor
        if x is None or strength is None:
            return self.vae.decode(latent).sample
        detail = (strength * self._requested_energy(x))[:, None, None, None].expand(-1, 1, *z.shape[-2:])
        origins = [(8 * int(a), 8 * int(b)) for a, b in torch.randint(0, 4096, (z.shape[0], 2))]
        return self.vae.decode(latent, detail, origins).sample

    def _requested_energy(self, x: torch.Tensor) -> torch.Tensor:
        """Each crop's detail energy D (B,) as a file can ask for it (clamped to the texture range)."""
        return detail_energy_per_image(x).clamp(*self.detail_range)

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        w = self.config
        source = self.sources[self.steps_taken % len(self.sources)] if self.sources else None
        self.steps_taken += 1
        strength = torch.rand(x.shape[0], device=x.device) * w.weight("detail_max", 1.0) if self.detail_range else None
        y = self._render(self._latent(x, w.weight("latent_noise", 0.0), source), x, strength)
        l1, grad, grid = F.l1_loss(y, x), gradient_l1(y, x), grid_excess_loss(y, x)
        fidelity = l1 + w.weight("gradient", 0.5) * grad + w.weight("grid", 0.0) * grid
        logged = {"l1": l1.item(), "grad": grad.item(), "grid": grid.item()}
        if strength is not None:  # synthesised detail up to the requested energy; fidelity caps it
            shortfall = detail_shortfall(y, strength * self._requested_energy(x))
            fidelity = fidelity + w.weight("detail", 0.0) * shortfall
            logged["detail"] = shortfall.item()
        adversarial, adv_logged = self.adversarial(x, y, fidelity, self._last_layer())
        return fidelity + adversarial, logged | adv_logged

    @torch.no_grad()
    def validate(self, x: torch.Tensor) -> dict[str, float]:
        measured = {}
        strengths = (0.0, 0.5, 1.0) if self.detail_range else (None,)
        for source in self.sources or [None]:
            z = self._latent(x, 0.0, source)
            for strength in strengths:
                asked = None if strength is None else torch.full((x.shape[0],), strength, device=x.device)
                y = self._render(z, x, asked)
                prefix = (f"{source.scale}x_" if source is not None else "") + (f"s{strength}_" if strength else "")
                values = {"psnr": psnr(unit_range(y), unit_range(x)).mean().item()} | realism_measures(x, y)
                measured |= {prefix + key: value for key, value in values.items()}
        return measured

    def export(self) -> None:
        save_tiny_backbone(Path(self.config.export), vae=self.vae, unet=self.unet)

    def state(self) -> dict[str, Any]:
        return self.adversarial.state() | {"steps_taken": self.steps_taken}

    def load_state(self, state: dict[str, Any]) -> None:
        self.adversarial.load_state(state)
        self.steps_taken = int(state.get("steps_taken", 0))


def adversarial_term(config: VAEDecoderConfig | ModelStageConfig) -> AdversarialTerm:
    """The stage's adversarial term from its config (see AdversarialTerm for the keys)."""
    return AdversarialTerm(config.loss, config.discriminator, config.lr if config.disc_lr is None else config.disc_lr)


def realism_measures(x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """Mean detail ratio and grid excess (tadmcodec.quality.metrics) of decoded crops y against originals x."""
    originals, decoded = to_uint8_images(x.detach().cpu().numpy()), to_uint8_images(y.detach().cpu().numpy())
    ratios = [detail_ratio(a, b) for a, b in zip(originals, decoded, strict=True)]
    grids = np.array([grid_excess(image) for image in decoded])
    return {
        "detail_ratio": float(np.nanmean(ratios)),
        "grid_h": float(grids[:, 0].mean()),
        "grid_v": float(grids[:, 1].mean()),
    }


def _existing_unet(folder: Path) -> nn.Module | None:
    try:
        return load_backbone(folder).unet
    except Exception:
        return None


class UNetStage(Stage):
    def __init__(self, config: BackboneStageConfig) -> None:
        super().__init__(config)
        folder = Path(config.backbone)
        self.vae = TinyAutoencoder.from_pretrained(folder, subfolder="vae")
        self.vae.requires_grad_(False)
        self.unet = _existing_unet(folder) or tiny_unet(self.vae.config.latent_channels, **config.unet)
        self.backbone = Backbone(self.vae, self.unet, load_backbone(folder).alphas_cumprod)

    def trainable(self) -> list[nn.Parameter]:
        return list(self.unet.parameters())

    def modules(self) -> dict[str, nn.Module]:
        return {"unet": self.unet}

    def _noise_loss(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            z = self.backbone.encode(x)
        eps = torch.randn_like(z)
        abar = self.backbone.alphas_cumprod[t][:, None, None, None]
        z_t = abar.sqrt() * z + (1 - abar).sqrt() * eps
        return F.mse_loss(self.backbone.predict_noise(z_t, t), eps)

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        t = torch.randint(0, self.backbone.num_timesteps, (x.shape[0],), device=x.device)
        loss = self._noise_loss(x, t)
        return loss, {"mse": loss.item()}

    @torch.no_grad()
    def validate(self, x: torch.Tensor) -> dict[str, float]:
        generator_state = torch.get_rng_state()
        torch.manual_seed(1234)
        result = {
            f"mse_t{t}": self._noise_loss(x, torch.full((x.shape[0],), t, device=x.device)).item()
            for t in (50, 300, 700)
        }
        torch.set_rng_state(generator_state)
        return result

    def export(self) -> None:
        save_tiny_backbone(Path(self.config.backbone), vae=self.vae, unet=self.unet)


class TADMStage(Stage):
    """Stages 1-3 share the model; they differ in what trains and in the loss."""

    def __init__(self, config: ModelStageConfig) -> None:
        super().__init__(config)
        self.kind = config.stage
        folder = Path(config.model)
        if self.kind == "dfrm" and not (folder / "config.json").is_file():
            backbone = load_backbone(config.backbone)
            tadm = TADMModel(**config.model_config, latent_channels=backbone.latent_channels)
            tadm.set_schedule(backbone.alphas_cumprod)
            add_lora(backbone.unet, tadm.config.lora_rank, tadm.config.lora_targets)
            self.model = TADM(tadm, backbone, folder.name, folder)
        else:
            self.model = load_model_folder(folder)
        self.tadm, self.backbone = self.model.tadm.train(), self.model.backbone.eval()  # the model's components
        self.backbone.requires_grad_(False)
        self.tadm.requires_grad_(self.kind in ("dfrm", "joint"))
        if self.kind in ("enhance", "joint"):
            for module in (self.tadm.tpm, self.tadm.scheduler):
                module.requires_grad_(True)
            for name, parameter in self.backbone.unet.named_parameters():
                parameter.requires_grad_("lora_" in name)
        self.adversarial = adversarial_term(config) if self.kind != "dfrm" else None
        self.scale = self.tadm.config.scale

    def trainable(self) -> list[nn.Parameter]:
        modules = [self.tadm, self.backbone.unet]
        return [p for m in modules for p in m.parameters() if p.requires_grad]

    def modules(self) -> dict[str, nn.Module]:
        modules = {"tadm": self.tadm, "unet": self.backbone.unet}
        return modules | ({"discriminator": self.adversarial.discriminator} if self.adversarial else {})

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Stage 1 renders z_hat (only when a loss or validation needs it: it is costly); stages 2-3 denoise."""
        if self.kind != "dfrm":
            return self.model(x)
        return self.model(
            x, denoise=False, render=self.config.weight("rec_pixel", 1.0) > 0 or not torch.is_grad_enabled()
        )

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        out = self.forward(x)
        w = self.config
        terms: dict[str, torch.Tensor] = {}
        if self.kind in ("dfrm", "joint"):
            terms["rec_latent"] = w.weight("rec", 1.0) * (
                F.l1_loss(out["z_hat"], out["z"])
                + F.l1_loss(self.model.rescaled_latent(out["y"], out["z_lr"]), out["z"])
            )
            terms["gui"] = w.weight("gui", 0.05) * F.l1_loss(out["y"], out["guide"])
        if self.kind == "dfrm":
            if "x_hat" in out:
                terms["rec_pixel"] = w.weight("rec_pixel", 1.0) * F.l1_loss(out["x_hat"], x)
        else:
            x_hat = out["x_hat"]
            terms["l1"] = F.l1_loss(x_hat, x)
            perceptual = (1 - ms_ssim(unit_range(x_hat), unit_range(x))).mean() + gradient_l1(x_hat, x)
            terms["pec"] = w.weight("pec", 0.5) * perceptual
            if w.weight("grid", 0.0) > 0:  # the decoder's 8-pixel blocks show when the latents it gets move
                terms["grid"] = w.weight("grid", 0.0) * grid_excess_loss(x_hat, x)
        logged = {}
        if self.adversarial is not None:  # balanced at the hybrid scheduler's last layer, which both reach
            fidelity = sum(terms.values())
            terms["adv"], logged = self.adversarial(x, out["x_hat"], fidelity, self.tadm.scheduler.conv_out.weight)
        if "t" in out and w.weight("timestep_rank", 0.0) > 0:  # textured crops above flat ones (paper Fig. 14);
            # on a detached z_hat: through it the term would move the DFRM and so the stored LR (seen: -2 dB)
            t = self.model.timestep(out["z_hat"].detach())
            terms["rank"] = w.weight("timestep_rank", 0.0) * timestep_rank_loss(t, x)
        loss = sum(terms.values())
        logged |= {k: v.item() for k, v in terms.items()}
        if "t" in out:
            logged["t_mean"] = out["t"].mean().item()
        return loss, logged

    @torch.no_grad()
    def validate(self, x: torch.Tensor) -> dict[str, float]:
        out = self.forward(x)
        result = {
            "psnr": psnr(unit_range(out["x_hat"]), unit_range(x)).mean().item(),
            "psnr_bicubic": psnr(unit_range(bicubic_baseline(x, self.scale)), unit_range(x)).mean().item(),
            "lr_psnr_vs_area": psnr(out["y_q"], out["guide"]).mean().item(),
        }
        if "t" in out:
            result |= {"t_mean": out["t"].mean().item(), "t_std": out["t"].std().item()}
        return result | realism_measures(x, out["x_hat"])

    def export(self) -> None:
        save_model_folder(self.config.model, self.tadm, self.backbone, self.config.backbone)

    def state(self) -> dict[str, Any]:
        return self.adversarial.state() if self.adversarial else {}

    def load_state(self, state: dict[str, Any]) -> None:
        if self.adversarial and state:
            self.adversarial.load_state(state)


class TimestepStage(TADMStage):
    """Trains only the TPM: the crops' timesteps ranked by their originals' detail energy
    (losses.timestep_rank_loss, paper Fig. 14), with the batch mean held at loss["timestep_mean"], the
    level the fidelity stages settled on; validation runs the whole chain, as the other stages'."""

    def __init__(self, config: TimestepConfig) -> None:
        super().__init__(config)
        self.tadm.requires_grad_(False)
        self.tadm.tpm.requires_grad_(True)
        self.backbone.unet.requires_grad_(False)

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        with torch.no_grad():
            z_hat = self.model(x, denoise=False, render=False)["z_hat"]
        t = self.model.timestep(z_hat)
        w = self.config
        rank = timestep_rank_loss(t, x)
        level = ((t.mean() - w.loss["timestep_mean"]) / 100.0) ** 2
        loss = w.weight("timestep_rank", 1.0) * rank + w.weight("level", 1.0) * level
        return loss, {"rank": rank.item(), "level": level.item(), "t_mean": t.mean().item(), "t_std": t.std().item()}


def seed_outputs(config: StageConfig) -> None:
    """A first run starts its output folder from config.init_model / init_backbone (copies; the sources, a
    release among them, are only read)."""
    init_backbone = getattr(config, "init_backbone", None)
    if init_backbone and not Path(config.backbone, "unet", "config.json").is_file():
        copy_resolving_links(
            Path(init_backbone),
            Path(config.backbone),
            shutil.ignore_patterns("*.md", "*.png", "*.json.part"),
        )
    init_model = getattr(config, "init_model", None)
    if init_model and not (Path(config.model) / "config.json").is_file():
        model = Path(config.model)
        model.mkdir(parents=True, exist_ok=True)
        for name in WEIGHT_FILES:
            if linked_file(Path(init_model) / name).is_file():
                copy_weight_file(Path(init_model) / name, model / name)
        reference = {"path": str(Path(config.backbone).resolve()), "pinned": None}
        (model / "backbone.json").write_text(json.dumps(reference, indent=1))


def build_stage(config: StageConfig, pca_batch: torch.Tensor | None = None) -> Stage:
    """The stage a parsed config names (training.config.parse_config)."""
    if config.stage == "vae":
        return VAEStage(config, pca_batch)
    stages = {"unet": UNetStage, "vae_decoder": VAEDecoderStage, "timesteps": TimestepStage}
    return stages.get(config.stage, TADMStage)(config)
