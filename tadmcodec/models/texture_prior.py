"""The texture prior: a compact x4 super-resolution network that turns the TADM decode into full-resolution
pixels with plausible texture (issue 29, design (a)).

Architecture (Real-ESRGAN's SRVGGNetCompact, Wang et al. 2021, written from its description): the
input is the TADM decode at full resolution, folded 4x4 into 48 channels at quarter resolution
(pixel unshuffle, so no detail the decode holds is lost), then a 3x3 conv to `width` channels, PReLU,
`depth` x (3x3 conv + PReLU), a 3x3 conv to 48 channels unfolded 4x (pixel shuffle), added to the
decode itself. Real-ESRGAN adds its residual to the nearest-neighbour enlargement of its input; here that
would be the 4x4 box average of the decode, a staircase the residual must cancel exactly, and what it
failed to cancel showed as a 4-pixel block pattern (a 15 % grid excess). With the first conv's weights
spread evenly over the 16 folded copies of each colour, the network reads what the pretrained x4 network
reads on the box-downscaled decode: the starting point of fine-tuning.

With `texture_input`, the network also reads where the original had texture: the file's per-patch
texture position (the stored timesteps of a texture-timestep model, 0 flat to 1 the most textured, blended
over patches as latents are; tadmcodec.pipeline.texture_stage.texture_positions), one channel at latent
resolution, enlarged 2x bilinearly to the network's quarter resolution (a nearest enlargement steps at
every 8-pixel boundary). Its first-conv weights start at zero, so
the pretrained network is still the starting point; it lets the prior put texture where the original had
it and keep flat areas flat, which a perceptual loss alone does not (it paints a uniform canvas).

With `unfold_blur`, the residual is smoothed by a fixed [1, 2, 1] / 4 filter in each direction after
the pixel shuffle (an anti-aliased unfold): the 16 output phases of a folded cell come from 16
different output channels, and whatever differs systematically between them shows as a 4-pixel pattern
(and lifts the 8-pixel grid); the filter halves a 4-pixel period and removes the 2-pixel one, and the
network, trained with it, learns to put its texture through it.

Pixels in and out are float in [-1, 1], as the TADM pipeline's.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.numpy import load_file
from torch import nn

from ..errors import MissingWeightsError
from ..nn.configured import ConfiguredModule, register_config
from ..store.folder import PRIOR_ADAPTER
from ..store.hashing import linked_file
from ..store.low_rank import apply_adapter

FACTOR = 4


class TexturePrior(ConfiguredModule):
    """Decode (B, 3, H, W) in [-1, 1], H and W multiples of 4 -> refined pixels of the same size."""

    @register_config
    def __init__(
        self, width: int = 64, depth: int = 32, texture_input: bool = False, unfold_blur: bool = False
    ) -> None:
        super().__init__()
        self.width, self.depth, self.texture_input, self.unfold_blur = width, depth, texture_input, unfold_blur
        inputs = 3 * FACTOR * FACTOR + int(texture_input)
        layers: list[nn.Module] = [nn.Conv2d(inputs, width, 3, padding=1), nn.PReLU(width)]
        for _ in range(depth):
            layers += [nn.Conv2d(width, width, 3, padding=1), nn.PReLU(width)]
        layers.append(nn.Conv2d(width, 3 * FACTOR * FACTOR, 3, padding=1))
        self.body = nn.Sequential(*layers)

    @classmethod
    def from_pretrained(cls, folder: str | Path, subfolder: str | None = None) -> TexturePrior:
        """The saved prior, with its adapter (PRIOR_ADAPTER: a low-rank update of an earlier release's prior,
        whose weights the folder then links) applied when the folder has one."""
        prior = super().from_pretrained(folder, subfolder)
        adapter = linked_file(Path(folder) / (subfolder or "") / PRIOR_ADAPTER)
        if adapter.is_file():
            state = {key: value.numpy() for key, value in prior.state_dict().items()}
            try:
                state = apply_adapter(state, load_file(adapter))
            except (OSError, KeyError, ValueError, SafetensorError) as err:
                raise MissingWeightsError(f"cannot apply {adapter}: {err}") from None
            prior.load_state_dict({key: torch.from_numpy(value) for key, value in state.items()})
        return prior

    def forward(self, decoded: torch.Tensor, texture: torch.Tensor | None = None) -> torch.Tensor:
        """decoded (B, 3, H, W); texture (B, 1, H/8, W/8) the texture positions (with texture_input only)."""
        unit = (decoded + 1) * 0.5  # the pretrained network's [0, 1] range
        folded = F.pixel_unshuffle(unit, FACTOR)
        if self.texture_input:
            texture = F.interpolate(texture, scale_factor=2, mode="bilinear", align_corners=False)
            folded = torch.cat([folded, texture], 1)
        residual = F.pixel_shuffle(self.body(folded), FACTOR)
        if self.unfold_blur:
            residual = smooth(residual)
        return (residual + unit) * 2 - 1


_TAPS = torch.tensor([0.25, 0.5, 0.25])
SMOOTHING = (_TAPS[:, None] * _TAPS[None, :]).expand(3, 1, 3, 3).contiguous()  # a constant: ONNX export needs one


def smooth(rgb: torch.Tensor) -> torch.Tensor:
    """Each of the 3 channels filtered by [1, 2, 1] / 4 along both axes, edges replicated (size kept)."""
    return F.conv2d(F.pad(rgb, (1, 1, 1, 1), mode="replicate"), SMOOTHING.to(rgb), groups=3)


def spread_first_conv(weight: torch.Tensor, texture_input: bool = False) -> torch.Tensor:
    """A (width, 3, 3, 3) first conv on quarter-size RGB as the (width, 48, 3, 3) conv on the 4x4-folded
    full-size input that computes the same (pixel_unshuffle orders channels colour-major), with a zero
    weight for the texture channel when there is one."""
    spread = (weight / (FACTOR * FACTOR)).repeat_interleave(FACTOR * FACTOR, dim=1)
    return torch.cat([spread, spread.new_zeros(spread.shape[0], 1, 3, 3)], 1) if texture_input else spread
