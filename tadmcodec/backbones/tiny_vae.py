"""TinyAutoencoder: a CPU-sized VAE with AutoencoderKL's interface and folder format.

The encoder works at the 1/8 latent resolution: a linear map from 8x8x3 pixel blocks to the latent
(initialised from the principal components of training blocks, so it starts at the PCA reconstruction
ceiling), plus a zero-initialised non-linear refinement. Two decoders share that latent:

    "block"  (release 1) the transposed linear block map, a refinement at 1/8 and a small one at full
             resolution: cheap, but every 8x8 block is a linear image of its latent pixel, which leaves
             an 8-pixel grid and lets an adversarial loss fool its discriminator with block texture.
    "conv"   nearest-neighbour upsampling and 3x3 convolutions from 1/8 to full resolution, widths
             halving at each step (as Stable Diffusion's and TAESD's decoders do): no block structure.
    "hybrid" the block decoder plus a conv decoder whose output is added to it, its last layer
             zero-initialised: training starts at the block decoder's fidelity and the conv path
             learns what the block map cannot (smooth block boundaries, texture).

Detail synthesis (detail_head > 0, release 4): a DetailHead adds texture to any of these decoders'
output, shaped from position-keyed noise (position_noise) and the decoded image, and scaled by the
square root of the detail energy requested per latent pixel (decode's `detail`, D(Y) units): without
`detail`, or at 0, the output is exactly the decoder's without the head.

No normalisation layers, so the output of a tile depends only on its neighbourhood.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ..nn.blocks import ResBlock, zero_module
from ..nn.configured import ConfiguredModule, register_config
from .position_noise import position_noise

BLOCK = 8
BLOCK_VALUES = 3 * BLOCK * BLOCK


@dataclass
class Posterior:
    """A diagonal Gaussian over the latent, as diffusers' DiagonalGaussianDistribution."""

    mean: torch.Tensor
    logvar: torch.Tensor

    def sample(self) -> torch.Tensor:
        return self.mean + torch.exp(0.5 * self.logvar.clamp(-30.0, 20.0)) * torch.randn_like(self.mean)


@dataclass
class EncoderOutput:
    latent_dist: Posterior


@dataclass
class DecoderOutput:
    sample: torch.Tensor


class TinyAutoencoder(ConfiguredModule):
    """encode(x).latent_dist and decode(z).sample, like diffusers' AutoencoderKL. The detail head's weights
    are saved in detail_head.safetensors, so a VAE that gained a head keeps its weight file."""

    weight_parts: ClassVar[dict[str, str]] = {"detail_head.": "detail_head.safetensors"}

    @register_config
    def __init__(
        self,
        latent_channels: int = 8,
        width: int = 96,
        blocks: int = 3,
        refine_width: int = 16,
        scaling_factor: float = 1.0,
        shift_factor: float = 0.0,
        initial_logvar: float = -12.0,  # a fixed, small posterior variance: latents stay near their mean
        decoder: str = "block",
        decoder_widths: tuple[int, ...] = (96, 64, 32, 16),
        detail_head: int = 0,
    ) -> None:
        super().__init__()
        if decoder not in ("block", "conv", "hybrid"):
            raise ValueError(f"unknown decoder {decoder!r}: use 'block', 'conv' or 'hybrid'")
        self.unshuffle = nn.PixelUnshuffle(BLOCK)
        self.encode_linear = nn.Conv2d(BLOCK_VALUES, latent_channels, 1)
        self.encode_refine = nn.Sequential(
            nn.Conv2d(BLOCK_VALUES, width, 3, padding=1),
            *[ResBlock(width) for _ in range(blocks)],
            nn.SiLU(),
            zero_module(nn.Conv2d(width, latent_channels, 3, padding=1)),
        )
        self.register_buffer("logvar", torch.full((latent_channels,), initial_logvar))
        if decoder != "block":
            self.conv_decoder = ConvDecoder(latent_channels, tuple(decoder_widths))
        if detail_head:
            self.detail_head = DetailHead(detail_head)
        if decoder == "conv":
            return
        if decoder == "hybrid":
            zero_module(self.conv_decoder.layers[-1])
        self.shuffle = nn.PixelShuffle(BLOCK)
        self.decode_linear = nn.Conv2d(latent_channels, BLOCK_VALUES, 1)
        self.decode_refine = nn.Sequential(
            nn.Conv2d(latent_channels, width, 3, padding=1),
            *[ResBlock(width) for _ in range(blocks)],
            nn.SiLU(),
            zero_module(nn.Conv2d(width, BLOCK_VALUES, 3, padding=1)),
        )
        self.pixel_refine = nn.Sequential(
            nn.Conv2d(3, refine_width, 3, padding=1),
            nn.SiLU(),
            nn.Conv2d(refine_width, refine_width, 3, padding=1),
            nn.SiLU(),
            zero_module(nn.Conv2d(refine_width, 3, 3, padding=1)),
        )

    def encode(self, x: torch.Tensor) -> EncoderOutput:
        blocks = self.unshuffle(x)
        mean = self.encode_linear(blocks) + self.encode_refine(blocks)
        return EncoderOutput(Posterior(mean, self.logvar[None, :, None, None].expand_as(mean)))

    def decode(
        self, z: torch.Tensor, detail: torch.Tensor | None = None, origins: list[tuple[int, int]] | None = None
    ) -> DecoderOutput:
        """Pixels from latents z (B, c, h, w); with a detail head, `detail` (B, 1, h, w) is the detail energy
        to synthesise per latent pixel and `origins` each latent's top-left pixel (x, y) in the image,
        which keys the noise (default (0, 0))."""
        if self.config.decoder == "conv":
            sample = self.conv_decoder(z)
        else:
            coarse = self.shuffle(self.decode_linear(z) + self.decode_refine(z))
            sample = coarse + self.pixel_refine(coarse)
            if self.config.decoder == "hybrid":
                sample = sample + self.conv_decoder(z)
        if detail is not None and self.config.detail_head:
            sample = sample + self.detail_head(sample, detail, origins or [(0, 0)] * z.shape[0])
        return DecoderOutput(sample=sample)

    def detail_parameters(self) -> list[nn.Parameter]:
        """The detail head's parameters (empty without one)."""
        return list(self.detail_head.parameters()) if self.config.detail_head else []

    def decoder_parameters(self) -> list[nn.Parameter]:
        """The parameters decode() uses (the encoder's are left out)."""
        return [p for name, p in self.named_parameters() if not name.startswith("encode_")]

    @torch.no_grad()
    def init_from_pca(self, images: torch.Tensor) -> None:
        """Set the linear maps to the top principal components of the images' 8x8 blocks, and the
        scaling factor so that latents have unit standard deviation."""
        blocks = self.unshuffle(images).permute(0, 2, 3, 1).reshape(-1, BLOCK_VALUES).double()
        mean = blocks.mean(0)
        _, _, vectors = torch.linalg.svd(blocks - mean, full_matrices=False)
        basis = vectors[: self.config.latent_channels]  # (c, 192), orthonormal rows
        self.encode_linear.weight.copy_(basis[:, :, None, None].float())
        self.encode_linear.bias.copy_(-(basis @ mean).float())
        if self.config.decoder != "conv":
            self.decode_linear.weight.copy_(basis.T[:, :, None, None].float())
            self.decode_linear.bias.copy_(mean.float())
        latents = (blocks - mean) @ basis.T
        self.register_to_config(scaling_factor=float(1.0 / latents.std()))


class ConvDecoder(nn.Module):
    """Latent (B, c, h, w) to pixels (B, 3, 8h, 8w): widths[0] channels at 1/8 with two residual blocks,
    then three steps of nearest-neighbour 2x upsampling, a 3x3 convolution to the next width and a
    residual block."""

    def __init__(self, latent_channels: int, widths: tuple[int, ...]) -> None:
        super().__init__()
        if len(widths) != 4:
            raise ValueError("the conv decoder needs four widths: 1/8, 1/4, 1/2 and full resolution")
        layers: list[nn.Module] = [
            nn.Conv2d(latent_channels, widths[0], 3, padding=1),
            ResBlock(widths[0]),
            ResBlock(widths[0]),
        ]
        for previous, width in itertools.pairwise(widths):
            layers += [
                nn.Upsample(scale_factor=2, mode="nearest"),
                nn.Conv2d(previous, width, 3, padding=1),
                ResBlock(width),
            ]
        layers += [nn.SiLU(), nn.Conv2d(widths[-1], 3, 3, padding=1)]
        self.layers = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.layers(z)


class DetailHead(nn.Module):
    """Texture for a decoded image: a small full-resolution conv net over the image and position-keyed
    noise, its output times the requested detail amplitude (sqrt(D) / 10: 1 at D(Y) = 100, a textured
    patch), so nothing is added where nothing is asked for and the energy it adds grows with D. The
    texture is grey (one value added to R, G and B: luma only), as the detail energy is measured on
    luma; an RGB head's first run added visible colour speckle."""

    NOISE_CHANNELS = 4

    def __init__(self, width: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(3 + self.NOISE_CHANNELS, width, 3, padding=1),
            ResBlock(width),
            ResBlock(width),
            nn.SiLU(),
            nn.Conv2d(width, 1, 3, padding=1),
        )

    def forward(self, image: torch.Tensor, detail: torch.Tensor, origins: list[tuple[int, int]]) -> torch.Tensor:
        height, width = image.shape[-2:]
        noise = torch.stack(
            [position_noise(self.NOISE_CHANNELS, height, width, origin, device=image.device) for origin in origins]
        ).to(image.dtype)
        amplitude = F.interpolate(
            detail.clamp_min(0).sqrt() / 10.0, size=(height, width), mode="bilinear", align_corners=False
        )
        grey = self.layers(torch.cat([image, noise], dim=1))
        return (amplitude.to(image.dtype) * grey).expand(-1, 3, -1, -1)
