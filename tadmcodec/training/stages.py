"""The training stages. Each builds its trainable modules, computes its loss on a batch of crops in
[-1, 1], validates, and exports the result as a backbone or model folder.

    vae     stage 0a: tiny VAE, L1 + image-gradient L1, PCA initialisation
    unet    stage 0b: tiny U-Net as a noise predictor on the VAE's latents (DDPM, T = 1000)
    dfrm    stage 1:  DFRM, lambda_rec * L_rec (both paths, with and without quantization) + lambda_gui * L_gui
    enhance stage 2:  LoRA + TPM + learnable scheduler, L1 + lambda_pec * ((1 - MS-SSIM) + gradient L1)
    joint   stage 3:  every module, stage 2's loss plus stage 1's terms, small learning rate
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..backbones import Backbone, load_backbone
from ..backbones.tiny import save_tiny_backbone, tiny_unet, tiny_vae
from ..backbones.tiny_vae import TinyAutoencoder
from ..model_folder import LoadedModel, load_model_folder, save_model_folder
from ..models.dfrm import quantize_8bit
from ..models.hybrid_scheduler import round_ste
from ..models.lora import add_lora
from ..models.tadm import TADMModel
from .losses import gradient_l1, ms_ssim, psnr


def to_unit(x: torch.Tensor) -> torch.Tensor:
    return ((x + 1) / 2).clamp(0, 1)


def bicubic_baseline(x: torch.Tensor, scale: int) -> torch.Tensor:
    """Antialiased bicubic down- then upscaling of images in [-1, 1]."""
    small = F.interpolate(x, scale_factor=1 / scale, mode="bicubic", antialias=True, align_corners=False)
    return F.interpolate(small, size=x.shape[-2:], mode="bicubic", align_corners=False)


class Stage:
    """Interface of a training stage."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.loss_weights = config.get("loss", {})

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


class VAEStage(Stage):
    def __init__(self, config: dict[str, Any], pca_batch: torch.Tensor | None) -> None:
        super().__init__(config)
        exported = Path(config["backbone"]) / "vae"
        if (exported / "config.json").is_file():  # continue from the exported (shipped) VAE
            self.vae = TinyAutoencoder.from_pretrained(exported, use_safetensors=True, local_files_only=True)
        else:
            self.vae = tiny_vae(**config.get("vae", {}))
            if pca_batch is not None:  # a fresh run; a resumed one loads its checkpoint
                self.vae.init_from_pca(pca_batch)

    def trainable(self) -> list[nn.Parameter]:
        return list(self.vae.parameters())

    def modules(self) -> dict[str, nn.Module]:
        return {"vae": self.vae}

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        y = self.vae.decode(self.vae.encode(x).latent_dist.sample()).sample
        l1, grad = F.l1_loss(y, x), gradient_l1(y, x)
        return l1 + self.loss_weights.get("gradient", 0.5) * grad, {"l1": l1.item(), "grad": grad.item()}

    @torch.no_grad()
    def validate(self, x: torch.Tensor) -> dict[str, float]:
        y = self.vae.decode(self.vae.encode(x).latent_dist.mean).sample
        return {"psnr": psnr(to_unit(y), to_unit(x)).mean().item()}

    def export(self) -> None:
        folder = Path(self.config["backbone"])
        save_tiny_backbone(
            folder, vae=self.vae, unet=_existing_unet(folder) or tiny_unet(self.vae.config.latent_channels)
        )


def _existing_unet(folder: Path) -> nn.Module | None:
    try:
        return load_backbone(folder).unet
    except Exception:
        return None


class UNetStage(Stage):
    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        folder = Path(config["backbone"])
        self.vae = TinyAutoencoder.from_pretrained(folder, subfolder="vae", use_safetensors=True).eval()
        self.vae.requires_grad_(False)
        self.unet = _existing_unet(folder) or tiny_unet(self.vae.config.latent_channels, **config.get("unet", {}))
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
        t = torch.randint(0, self.backbone.num_timesteps, (x.shape[0],))
        loss = self._noise_loss(x, t)
        return loss, {"mse": loss.item()}

    @torch.no_grad()
    def validate(self, x: torch.Tensor) -> dict[str, float]:
        generator_state = torch.get_rng_state()
        torch.manual_seed(1234)
        result = {f"mse_t{t}": self._noise_loss(x, torch.full((x.shape[0],), t)).item() for t in (50, 300, 700)}
        torch.set_rng_state(generator_state)
        return result

    def export(self) -> None:
        save_tiny_backbone(Path(self.config["backbone"]), vae=self.vae, unet=self.unet)


class TADMStage(Stage):
    """Stages 1-3 share the model; they differ in what trains and in the loss."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.kind = config["stage"]
        folder = Path(config["model"])
        if self.kind == "dfrm" and not (folder / "config.json").is_file():
            backbone = load_backbone(config["backbone"])
            tadm = TADMModel(**config["model_config"], latent_channels=backbone.latent_channels)
            tadm.set_schedule(backbone.alphas_cumprod)
            add_lora(backbone.unet, tadm.config.lora_rank, tadm.config.lora_targets)
            self.model = LoadedModel(folder.name, folder, tadm, backbone, b"")
        else:
            self.model = load_model_folder(folder)
        self.tadm, self.backbone = self.model.tadm.train(), self.model.backbone.eval()
        self.backbone.requires_grad_(False)
        self.tadm.requires_grad_(self.kind in ("dfrm", "joint"))
        if self.kind in ("enhance", "joint"):
            for module in (self.tadm.tpm, self.tadm.scheduler):
                module.requires_grad_(True)
            for name, parameter in self.backbone.unet.named_parameters():
                parameter.requires_grad_("lora_" in name)
        self.scale = self.tadm.config.scale

    def trainable(self) -> list[nn.Parameter]:
        modules = [self.tadm, self.backbone.unet]
        return [p for m in modules for p in m.parameters() if p.requires_grad]

    def modules(self) -> dict[str, nn.Module]:
        return {"tadm": self.tadm, "unet": self.backbone.unet}

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            z = self.backbone.encode(x)
        dfrm = self.tadm.dfrm
        with torch.set_grad_enabled(self.kind != "enhance" and torch.is_grad_enabled()):
            z_lr, y = dfrm.downscale(x, z)
            y_q = quantize_8bit(y)
            z_hat = self.tadm.rescaled_latent(y_q, self.backbone)
        out = {"z": z, "z_lr": z_lr, "y": y, "y_q": y_q, "z_hat": z_hat}
        if self.kind == "dfrm":
            if self.loss_weights.get("rec_pixel", 1.0) > 0 or not torch.is_grad_enabled():
                out["x_hat"] = self.backbone.decode(z_hat)  # costly: only when a loss or validation needs it
            return out
        t = self.tadm.tpm(z_hat)
        eps = self.backbone.predict_noise(z_hat, round_ste(t))
        z0 = self.tadm.scheduler(z_hat, eps, t)
        out |= {"t": t, "z0": z0, "x_hat": self.backbone.decode(z0)}
        return out

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        out = self.forward(x)
        w = self.loss_weights
        terms: dict[str, torch.Tensor] = {}
        if self.kind in ("dfrm", "joint"):
            guide = (F.avg_pool2d(x, self.scale) + 1) / 2
            terms["rec_latent"] = w.get("rec", 1.0) * (
                F.l1_loss(out["z_hat"], out["z"])
                + F.l1_loss(self.tadm.rescaled_latent(out["y"], self.backbone, out["z_lr"]), out["z"])
            )
            terms["gui"] = w.get("gui", 0.05) * F.l1_loss(out["y"], guide)
        if self.kind == "dfrm":
            if "x_hat" in out:
                terms["rec_pixel"] = w.get("rec_pixel", 1.0) * F.l1_loss(out["x_hat"], x)
        else:
            x_hat = out["x_hat"]
            terms["l1"] = F.l1_loss(x_hat, x)
            perceptual = (1 - ms_ssim(to_unit(x_hat), to_unit(x))).mean() + gradient_l1(x_hat, x)
            terms["pec"] = w.get("pec", 0.5) * perceptual
        loss = sum(terms.values())
        logged = {k: v.item() for k, v in terms.items()}
        if "t" in out:
            logged["t_mean"] = out["t"].mean().item()
        return loss, logged

    @torch.no_grad()
    def validate(self, x: torch.Tensor) -> dict[str, float]:
        out = self.forward(x)
        guide = (F.avg_pool2d(x, self.scale) + 1) / 2
        result = {
            "psnr": psnr(to_unit(out["x_hat"]), to_unit(x)).mean().item(),
            "psnr_bicubic": psnr(to_unit(bicubic_baseline(x, self.scale)), to_unit(x)).mean().item(),
            "lr_psnr_vs_area": psnr(out["y_q"], guide).mean().item(),
        }
        if "t" in out:
            result |= {"t_mean": out["t"].mean().item(), "t_std": out["t"].std().item()}
        return result

    def export(self) -> None:
        save_model_folder(self.config["model"], self.tadm, self.backbone, self.config["backbone"])


def build_stage(config: dict[str, Any], pca_batch: torch.Tensor | None = None) -> Stage:
    kind = config["stage"]
    if kind == "vae":
        return VAEStage(config, pca_batch)
    if kind == "unet":
        return UNetStage(config)
    if kind in ("dfrm", "enhance", "joint"):
        return TADMStage(config)
    raise ValueError(f"unknown stage {kind!r}: use vae, unet, dfrm, enhance or joint")
