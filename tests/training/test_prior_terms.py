"""The texture prior's structure and the loss terms that keep it free of block patterns (issue 29)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from tadmcodec.models.texture_prior import TexturePrior
from tadmcodec.quality.metrics import grid_excess
from tadmcodec.training.prior import gradient_profile


def test_a_prior_with_a_silent_last_layer_returns_the_decode_itself() -> None:
    prior = TexturePrior(width=8, depth=2, texture_input=True)
    torch.nn.init.zeros_(prior.body[-1].weight)
    torch.nn.init.zeros_(prior.body[-1].bias)
    ramp = torch.linspace(-0.9, 0.9, 32).expand(1, 3, 32, 32).contiguous()  # smooth: any staircase would show
    out = prior(ramp, torch.rand(1, 1, 4, 4))
    assert torch.allclose(out, ramp, atol=1e-6)


def test_the_grid_term_sees_blocks_of_four_and_eight_and_not_smooth_images() -> None:
    torch.manual_seed(0)
    smooth = F.interpolate(torch.rand(2, 3, 16, 16), size=64, mode="bicubic", align_corners=False)
    blocky = F.interpolate(torch.rand(2, 3, 16, 16), size=64, mode="nearest")
    flat_profile = gradient_profile(smooth)
    assert flat_profile.shape == (2, 2, 8)
    assert (flat_profile - 1).abs().max() < 0.35
    profile = gradient_profile(blocky)  # all the gradient sits on phases 3 and 7, none elsewhere
    assert torch.allclose(profile[..., [3, 7]], torch.full_like(profile[..., [3, 7]], 4.0), rtol=0.1)
    assert profile[..., [0, 1, 2, 4, 5, 6]].abs().max() < 1e-6
    image = ((blocky[0].permute(1, 2, 0) + 1) * 127.5).clamp(0, 255).byte().numpy()
    assert min(grid_excess(np.ascontiguousarray(image))) > 2.0  # the metric agrees: a strong 8-px grid
