"""The tiny backbone's noise-prediction U-Net, computing exactly what diffusers' UNet2DModel computes
for the configurations it accepts, from the same folder (config.json + safetensors, same key names).

Decoding and training import this instead of diffusers (whose import costs seconds and pulls in
transformers); tests check it against UNet2DModel output for output. Supported: DownBlock2D,
AttnDownBlock2D, UpBlock2D, AttnUpBlock2D, a UNetMidBlock2D with attention, positional timestep
embedding, SiLU, conv down- and upsampling. Anything else in a config.json is refused.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..nn.configured import ConfiguredModule, register_config

DOWN_BLOCKS = {"DownBlock2D": False, "AttnDownBlock2D": True}  # type -> has attention
UP_BLOCKS = {"UpBlock2D": False, "AttnUpBlock2D": True}
FIXED = {
    "act_fn": "silu",
    "center_input_sample": False,
    "class_embed_type": None,
    "num_class_embeds": None,
    "downsample_type": "conv",
    "upsample_type": "conv",
    "mid_block_type": "UNetMidBlock2D",
    "resnet_time_scale_shift": "default",
    "time_embedding_type": "positional",
    "time_embedding_dim": None,
    "add_attention": True,
    "attn_norm_num_groups": None,
    "dropout": 0.0,
    "mid_block_scale_factor": 1,
    "downsample_padding": 1,
}


def timestep_embedding(timesteps: torch.Tensor, dim: int, flip_sin_to_cos: bool, shift: float) -> torch.Tensor:
    """Sinusoidal embedding (diffusers' get_timestep_embedding, max period 10000, scale 1)."""
    half = dim // 2
    exponent = -math.log(10000) * torch.arange(start=0, end=half, dtype=torch.float32, device=timesteps.device)
    frequencies = torch.exp(exponent / (half - shift))
    angles = timesteps[:, None].float() * frequencies[None, :]
    embedding = torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)
    if flip_sin_to_cos:
        embedding = torch.cat([embedding[:, half:], embedding[:, :half]], dim=-1)
    return F.pad(embedding, (0, 1, 0, 0)) if dim % 2 else embedding


class TimestepMLP(nn.Module):
    def __init__(self, channels: int, dim: int) -> None:
        super().__init__()
        self.linear_1, self.act, self.linear_2 = nn.Linear(channels, dim), nn.SiLU(), nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear_2(self.act(self.linear_1(x)))


class ResnetBlock(nn.Module):
    """GroupNorm-SiLU-conv, plus the projected time embedding, GroupNorm-SiLU-conv, residual."""

    def __init__(self, channels_in: int, channels_out: int, time_dim: int, groups: int, eps: float) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, channels_in, eps=eps, affine=True)
        self.conv1 = nn.Conv2d(channels_in, channels_out, 3, stride=1, padding=1)
        self.time_emb_proj = nn.Linear(time_dim, channels_out)
        self.norm2 = nn.GroupNorm(groups, channels_out, eps=eps, affine=True)
        self.conv2 = nn.Conv2d(channels_out, channels_out, 3, stride=1, padding=1)
        self.nonlinearity = nn.SiLU()
        self.conv_shortcut = nn.Conv2d(channels_in, channels_out, 1) if channels_in != channels_out else None

    def forward(self, x: torch.Tensor, time: torch.Tensor) -> torch.Tensor:
        h = self.conv1(self.nonlinearity(self.norm1(x)))
        h = h + self.time_emb_proj(self.nonlinearity(time))[:, :, None, None]
        h = self.conv2(self.nonlinearity(self.norm2(h)))
        shortcut = self.conv_shortcut(x) if self.conv_shortcut is not None else x
        return shortcut + h


class Attention(nn.Module):
    """Spatial self-attention with a GroupNorm and a residual (diffusers' Attention, AttnProcessor2_0)."""

    def __init__(self, channels: int, head_dim: int, groups: int, eps: float) -> None:
        super().__init__()
        if channels % head_dim:
            raise ValueError(f"attention over {channels} channels needs them to be a multiple of {head_dim}")
        self.heads = channels // head_dim
        self.group_norm = nn.GroupNorm(groups, channels, eps=eps, affine=True)
        self.to_q, self.to_k, self.to_v = (nn.Linear(channels, channels) for _ in range(3))
        self.to_out = nn.ModuleList([nn.Linear(channels, channels), nn.Dropout(0.0)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, height, width = x.shape
        h = x.view(batch, channels, height * width).transpose(1, 2)
        h = self.group_norm(h.transpose(1, 2)).transpose(1, 2)
        q, k, v = self.to_q(h), self.to_k(h), self.to_v(h)
        head_dim = k.shape[-1] // self.heads
        q, k, v = (t.view(batch, -1, self.heads, head_dim).transpose(1, 2) for t in (q, k, v))
        h = F.scaled_dot_product_attention(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False)
        h = h.transpose(1, 2).reshape(batch, -1, self.heads * head_dim).to(q.dtype)
        h = self.to_out[1](self.to_out[0](h))
        h = h.transpose(-1, -2).reshape(batch, channels, height, width)
        return h + x


class Resample(nn.Module):
    """A strided 3x3 convolution (down) or nearest 2x upsampling and a 3x3 convolution (up)."""

    def __init__(self, channels: int, down: bool) -> None:
        super().__init__()
        self.down = down
        self.conv = nn.Conv2d(channels, channels, 3, stride=2 if down else 1, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x if self.down else F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Block(nn.Module):
    """One level of the U-Net: resnets, each followed by attention when the block has it, then resampling."""

    def __init__(
        self,
        resnets: list[ResnetBlock],
        attention: list[Attention] | None,
        resample: Resample | None,
        resample_name: str,
    ) -> None:
        super().__init__()
        self.resnets = nn.ModuleList(resnets)
        if attention is not None:
            self.attentions = nn.ModuleList(attention)
        self.resample_name = resample_name if resample is not None else None
        if resample is not None:
            setattr(self, resample_name, nn.ModuleList([resample]))

    @property
    def resample(self) -> Resample | None:
        return getattr(self, self.resample_name)[0] if self.resample_name else None

    def layers(self) -> list[tuple[ResnetBlock, Attention | None]]:
        attentions = getattr(self, "attentions", [None] * len(self.resnets))
        return list(zip(self.resnets, attentions, strict=True))


class UNet(ConfiguredModule):
    """Noise prediction eps(z_t, t): UNet2DModel's architecture and weights, for the configurations above."""

    class_name = "UNet2DModel"
    ignored_config = frozenset({"sample_size", "num_train_timesteps"})

    @register_config
    def __init__(
        self,
        in_channels: int = 16,
        out_channels: int = 16,
        down_block_types: tuple[str, ...] = ("DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"),
        up_block_types: tuple[str, ...] = ("AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"),
        block_out_channels: tuple[int, ...] = (64, 128, 128),
        layers_per_block: int = 1,
        attention_head_dim: int = 32,
        norm_num_groups: int = 32,
        norm_eps: float = 1e-5,
        flip_sin_to_cos: bool = True,
        freq_shift: int = 0,
        **fixed: object,
    ) -> None:
        super().__init__()
        wrong = {k: v for k, v in fixed.items() if k not in FIXED or FIXED[k] != v}
        if wrong or set(down_block_types) - set(DOWN_BLOCKS) or set(up_block_types) - set(UP_BLOCKS):
            raise ValueError(f"unsupported U-Net configuration: {wrong or (down_block_types, up_block_types)}")
        channels, groups, eps = list(block_out_channels), norm_num_groups, norm_eps
        time_dim = channels[0] * 4
        self.conv_in = nn.Conv2d(in_channels, channels[0], 3, padding=(1, 1))
        self.time_embedding = TimestepMLP(channels[0], time_dim)
        down, output = [], channels[0]
        for index, kind in enumerate(down_block_types):
            previous, output = output, channels[index]
            resnets = [
                ResnetBlock(previous if i == 0 else output, output, time_dim, groups, eps)
                for i in range(layers_per_block)
            ]
            attention = (
                [Attention(output, attention_head_dim, groups, eps) for _ in resnets] if DOWN_BLOCKS[kind] else None
            )
            last = index == len(channels) - 1
            down.append(Block(resnets, attention, None if last else Resample(output, down=True), "downsamplers"))
        self.down_blocks = nn.ModuleList(down)
        middle = channels[-1]
        self.mid_block = Block(
            [ResnetBlock(middle, middle, time_dim, groups, eps) for _ in range(2)],
            [Attention(middle, attention_head_dim, groups, eps)],
            None,
            "",
        )
        up, reversed_channels = [], channels[::-1]
        output = reversed_channels[0]
        for index, kind in enumerate(up_block_types):
            previous, output = output, reversed_channels[index]
            skip_in = reversed_channels[min(index + 1, len(channels) - 1)]
            count = layers_per_block + 1
            resnets = [
                ResnetBlock(
                    (previous if i == 0 else output) + (skip_in if i == count - 1 else output),
                    output,
                    time_dim,
                    groups,
                    eps,
                )
                for i in range(count)
            ]
            attention = (
                [Attention(output, attention_head_dim, groups, eps) for _ in resnets] if UP_BLOCKS[kind] else None
            )
            last = index == len(channels) - 1
            up.append(Block(resnets, attention, None if last else Resample(output, down=False), "upsamplers"))
        self.up_blocks = nn.ModuleList(up)
        self.conv_norm_out = nn.GroupNorm(groups, channels[0], eps=eps)
        self.conv_act = nn.SiLU()
        self.conv_out = nn.Conv2d(channels[0], out_channels, 3, padding=1)

    def forward(self, sample: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        """eps for latents (B, c, h, w) at one timestep per batch element (B,), integer or float."""
        timesteps = timesteps * torch.ones(sample.shape[0], dtype=timesteps.dtype, device=timesteps.device)
        embedding = timestep_embedding(
            timesteps, self.config.block_out_channels[0], self.config.flip_sin_to_cos, self.config.freq_shift
        )
        time = self.time_embedding(embedding.to(dtype=self.dtype))
        h = self.conv_in(sample)
        skips = [h]
        for block in self.down_blocks:
            for resnet, attention in block.layers():
                h = resnet(h, time)
                h = attention(h) if attention is not None else h
                skips.append(h)
            if block.resample is not None:
                h = block.resample(h)
                skips.append(h)
        middle = self.mid_block
        h = middle.resnets[1](middle.attentions[0](middle.resnets[0](h, time)), time)
        for block in self.up_blocks:
            for resnet, attention in block.layers():
                h = resnet(torch.cat([h, skips.pop()], dim=1), time)
                h = attention(h) if attention is not None else h
            if block.resample is not None:
                h = block.resample(h)
        return self.conv_out(self.conv_act(self.conv_norm_out(h)))
