"""TADM, the algorithm in one object: its registered components and every step encoding, decoding and
training take, so a change to the method is made here once.

    encode   x --backbone.encode--> z --DFRM encoder G_e--> z_lr --F--> y --8 bits--> LR (the thumbnail)
             t per patch: the TPM on the decoder's z_hat, or (texture_timesteps) the original's texture
    decode   LR --F^-1--> z_lr --G_d--> z_hat (+ latent of the upsampled LR) --TPM--> t per patch
             z_hat, t --U-Net--> eps --hybrid scheduler--> z0 --backbone.decode--> pixels

Tiles, patches, halos, batches and blending are geometry and live in tadmcodec.pipeline, which calls
these methods; training calls the same methods through forward().
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..backbones import Backbone
from ..nn.pixels import quantize_lr
from ..quality.metrics import detail_energy_map
from ..runtime.device import autocast
from .dfrm import area_guide
from .hybrid_scheduler import round_ste
from .lora import merge_lora
from .tadm import TADMModel
from .texture_prior import TexturePrior


class TADM(nn.Module):
    """A loaded TADM model: the trainable modules (DFRM, TPM, hybrid scheduler: `tadm`) and the latent
    diffusion backbone (VAE, U-Net with LoRA: `backbone`), with its name, folder and weight digest."""

    def __init__(
        self,
        tadm: TADMModel,
        backbone: Backbone,
        name: str = "",
        folder: Path | None = None,
        digest: bytes = b"",
        texture_prior: TexturePrior | None = None,
    ) -> None:
        """texture_prior: the network that refines the rendered pixels last (tadmcodec.pipeline.texture_stage)."""
        super().__init__()
        self.tadm, self.backbone, self.texture_prior = tadm, backbone, texture_prior
        self.name, self.folder, self.digest = name, folder, digest
        self.mixed_precision = True  # on CUDA the backbone runs under bf16 autocast; False: float32

    def for_inference(self) -> TADM:
        """This model with the U-Net's LoRA merged into its weights (faster; no adapters left to train):
        the form Codec.load serves."""
        merge_lora(self.backbone.unet)
        return self

    @property
    def config(self) -> Any:
        """The TADMModel configuration (scale, patch and tile geometry, sizes): a diffusers FrozenDict."""
        return self.tadm.config

    @property
    def scale(self) -> int:
        return self.tadm.config.scale

    @property
    def num_timesteps(self) -> int:
        return self.backbone.num_timesteps

    # --- encoding -------------------------------------------------------------------------
    def downscale(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(z_lr, y) from images x in [-1, 1]: the rescaled feature and the unquantized LR in [0, 1]."""
        with autocast(x.device, self.mixed_precision):
            z = self.backbone.encode(x)
        return self.tadm.dfrm.downscale(x.float(), z.float())

    # --- decoding -------------------------------------------------------------------------
    def rescaled_latent(
        self,
        y: torch.Tensor,
        z_lr: torch.Tensor | None = None,
        upsample: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """z_hat from an LR image y in [0, 1]: G_d(F^-1(y)) (or G_d(z_lr) when given), plus, with
        lr_skip, the backbone's latent of the bicubically upsampled y (`upsample` computes that upsampling
        another way: the exported graphs' matrix products, tadmcodec.runtime.graph_export)."""
        dfrm = self.tadm.dfrm
        z_hat = dfrm.decoder(dfrm.mapping.inverse(y) if z_lr is None else z_lr)
        if self.config.lr_skip:
            if upsample is None:
                upsampled = F.interpolate(y * 2 - 1, scale_factor=self.scale, mode="bicubic", align_corners=False)
            else:
                upsampled = upsample(y * 2 - 1)
            z_hat = z_hat + self.backbone.encode(upsampled.clamp(-1, 1))
        return z_hat

    def timestep(self, z_hat: torch.Tensor) -> torch.Tensor:
        """The TPM's continuous timestep per patch (B,), in [1, T - 1]."""
        return self.tadm.tpm(z_hat)

    def stored_timesteps(self, z_hat: torch.Tensor) -> torch.Tensor:
        """The integer timesteps a file stores for patches z_hat (B,), predicted by the TPM."""
        return torch.round(self.timestep(z_hat)).clamp(0, self.num_timesteps - 1).long()

    @property
    def timesteps_from_texture(self) -> bool:
        """Whether the encoder sets the timesteps from the original's texture (not the TPM from the LR)."""
        return self.config.texture_timesteps is not None

    def texture(self, x: torch.Tensor) -> torch.Tensor:
        """The original's texture per LR pixel, (B, H/s, W/s): the mean detail energy over each s x s block
        of images x in [-1, 1]."""
        return F.avg_pool2d(detail_energy_map(x), self.scale)[:, 0]

    def texture_timesteps(self, energy: torch.Tensor) -> torch.Tensor:
        """The integer timesteps a file stores for patches of mean texture energy (B,): larger for texture,
        where the U-Net step may generate detail, smaller for flat areas, where fidelity matters."""
        log_low, log_high, t_low, t_high = self.config.texture_timesteps
        position = ((torch.log1p(energy.double()) - log_low) / (log_high - log_low)).clamp(0, 1)
        return torch.round(t_low + (t_high - t_low) * position).long()

    @property
    def synthesises_detail(self) -> bool:
        """Whether render() can synthesise texture: a detail-synthesising VAE and texture timesteps."""
        return self.backbone.synthesises_detail and self.timesteps_from_texture and self.texture_prior is None

    def denoise(self, z_hat: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """z0: one U-Net step at per-patch timesteps t, then the hybrid scheduler. Integer t as stored
        in files; continuous t in training (rounded, with a straight-through gradient to the TPM)."""
        steps = round_ste(t) if t.is_floating_point() else t
        with autocast(z_hat.device, self.mixed_precision):
            eps = self.backbone.predict_noise(z_hat, steps)
        return self.tadm.scheduler(z_hat, eps.float(), t.float())

    def render(
        self, latent: torch.Tensor, detail: torch.Tensor | None = None, origins: list[tuple[int, int]] | None = None
    ) -> torch.Tensor:
        """Pixels in [-1, 1] (not clamped) from a latent, through the backbone's VAE decoder; `detail` (B, 1,
        h, w) the detail energy to synthesise and `origins` each latent's top-left pixel in the image."""
        with autocast(latent.device, self.mixed_precision):
            return self.backbone.decode(latent, detail, origins).float()

    def refine(self, pixels: torch.Tensor, texture: torch.Tensor | None = None) -> torch.Tensor:
        """The texture prior's pixels in [-1, 1] (not clamped) from rendered pixels (B, 3, H, W), H and W
        multiples of 8, and the texture positions (B, 1, H/8, W/8) for a prior that reads them; float32."""
        return self.texture_prior(pixels, texture)

    # --- training -------------------------------------------------------------------------
    def forward(self, x: torch.Tensor, denoise: bool = True, render: bool = True) -> dict[str, torch.Tensor]:
        """The whole chain on images x in [-1, 1], with the straight-through 8-bit LR as a file stores it:
        z, z_lr, y, y_q, z_hat, guide (the area-downscaled x), and with `denoise` t and z0; x_hat is the
        render of z0 (or of z_hat without denoise) when `render`."""
        with torch.no_grad():
            z = self.backbone.encode(x)
        z_lr, y = self.tadm.dfrm.downscale(x, z)
        y_q = quantize_lr(y)
        out = {
            "z": z,
            "z_lr": z_lr,
            "y": y,
            "y_q": y_q,
            "z_hat": self.rescaled_latent(y_q),
            "guide": area_guide(x, self.scale),
        }
        latent = out["z_hat"]
        if denoise:
            out["t"] = self.timestep(out["z_hat"])
            latent = out["z0"] = self.denoise(out["z_hat"], out["t"])
        if render:
            out["x_hat"] = self.render(latent)
        return out
