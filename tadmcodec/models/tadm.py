"""TADMModel: DFRM, TPM and the hybrid scheduler with their configuration.

Saved with save_pretrained as config.json + diffusion_pytorch_model.safetensors (diffusers' layout);
the U-Net LoRA and the null-prompt embedding are saved beside them by the model-folder code.
"""

from __future__ import annotations

import torch

from tadmcodec_formats import LATENT_FACTOR

from ..nn.blocks import zero_module
from ..nn.configured import ConfiguredModule, register_config
from .dfrm import DFRM
from .hybrid_scheduler import HybridScheduler
from .tpm import TimestepPredictor


class TADMModel(ConfiguredModule):
    """The trainable TADM modules for one scale and one backbone, and the configuration saved beside their
    weights; the algorithm that runs them with a backbone is tadmcodec.models.algorithm.TADM."""

    @register_config
    def __init__(
        self,
        scale: int = 16,
        backbone: str = "tiny",
        latent_channels: int = 8,
        num_timesteps: int = 1000,
        dfrm_width: int = 64,
        dfrm_blocks: int = 2,
        flow_blocks: int = 4,
        flow_hidden: int = 32,
        tpm_width: int = 32,
        scheduler_width: int = 64,
        patch_size: int = 32,
        patch_overlap: int = 8,
        lr_halo: int = 8,
        encode_tile: int = 1024,
        encode_halo: int = 128,
        lr_skip: bool = True,
        lora_rank: int = 8,
        lora_targets: tuple[str, ...] = ("to_q", "to_k", "to_v", "to_out.0", "conv1", "conv2"),
        texture_timesteps: tuple[float, float, int, int] | None = None,
        detail_strength: float = 0.0,
        latent_block: int = 0,
    ) -> None:
        """texture_timesteps (log_low, log_high, t_low, t_high): the encoder sets each patch's timestep from
        the original's texture, t_low at log(1 + D) <= log_low rising linearly to t_high at log_high (D the
        patch's mean detail energy, tadmcodec.quality.metrics.detail_energy_map); None: the TPM predicts it from
        the LR as the decoder sees it (releases 1 and 2). detail_strength: the fraction of that texture
        energy a detail-synthesising VAE decoder adds by default (decoding's `detail` dial; release 4).
        latent_block: the latent block size over which decoding computes the rescaled latent z_hat once
        (tadmcodec.pipeline.latent_patches; at 16x about a fifth of that work), 0 per patch (releases 1-5)."""
        super().__init__()
        step = scale // LATENT_FACTOR
        latent_sizes, pixel_sizes = (patch_size, patch_overlap, latent_block), (encode_tile, encode_halo)
        if any(v % step for v in latent_sizes) or any(v % scale for v in pixel_sizes):
            raise ValueError(
                "patch size, overlap and latent block must be multiples of scale/8; encode tile and halo of scale"
            )
        if latent_block < 0:
            raise ValueError(f"latent_block {latent_block}: 0 (per patch) or a block size")
        if texture_timesteps is not None:
            log_low, log_high, t_low, t_high = texture_timesteps
            if not (log_low < log_high and 0 <= t_low <= t_high < num_timesteps):
                raise ValueError(
                    f"texture_timesteps {texture_timesteps}: need log_low < log_high and "
                    f"0 <= t_low <= t_high < {num_timesteps}"
                )
        self.dfrm = DFRM(latent_channels, scale, dfrm_width, dfrm_blocks, flow_blocks, flow_hidden)
        if lr_skip:  # G_d then learns a residual over the latent of the upsampled LR, starting at zero
            zero_module(self.dfrm.decoder.layers[-1])
        self.tpm = TimestepPredictor(latent_channels, num_timesteps, tpm_width)
        self.scheduler = HybridScheduler(num_timesteps, latent_channels, scheduler_width)

    def set_schedule(self, alphas_cumprod: torch.Tensor) -> None:
        """Take the backbone's alphas_cumprod (saved with the weights afterwards)."""
        self.scheduler.alphas_cumprod.copy_(alphas_cumprod.float())
