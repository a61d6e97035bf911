"""The timestep ranking term and its detail energy, against values computed here by other means."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tadmcodec.quality.metrics import detail_energy
from tadmcodec.training.losses import detail_energy_per_image, timestep_rank_loss


def images(seed: int = 0) -> tuple[np.ndarray, torch.Tensor]:
    """A flat, a mildly and a strongly textured 48 x 48 image, as uint8 and as a batch in [-1, 1]."""
    rng = np.random.default_rng(seed)
    flat = np.full((48, 48, 3), 120, np.uint8)
    mild = np.clip(120 + rng.normal(0, 6, (48, 48, 3)), 0, 255).astype(np.uint8)
    strong = rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)
    batch = np.stack([flat, mild, strong])
    return batch, torch.from_numpy(batch).permute(0, 3, 1, 2).float() / 127.5 - 1


def test_detail_energy_matches_the_metric_away_from_the_borders() -> None:
    batch, x = images()
    ours = detail_energy_per_image(x).numpy()
    reference = np.array([detail_energy(image) for image in batch])
    assert ours[0] == pytest.approx(0.0, abs=1e-6)
    assert ours[1:] == pytest.approx(reference[1:], rel=0.03)  # only the border handling differs


def test_the_rank_term_is_low_when_texture_gets_larger_timesteps() -> None:
    _, x = images()
    ordered = timestep_rank_loss(torch.tensor([20.0, 60.0, 100.0]), x)
    reversed_ = timestep_rank_loss(torch.tensor([100.0, 60.0, 20.0]), x)
    # every pair qualifies (log energies differ a lot): mean softplus(-(t_more - t_less) / 10)
    by_hand = np.mean([math.log1p(math.exp(-gap / 10)) for gap in (40.0, 80.0, 40.0)])
    assert ordered.item() == pytest.approx(by_hand, rel=1e-5)
    assert reversed_.item() == pytest.approx(
        np.mean([math.log1p(math.exp(gap / 10)) for gap in (40.0, 80.0, 40.0)]), rel=1e-5
    )


def test_the_rank_term_pushes_the_textured_crop_up() -> None:
    _, x = images()
    t = torch.tensor([50.0, 50.0, 50.0], requires_grad=True)
    timestep_rank_loss(t, x).backward()
    assert t.grad[2] < 0 < t.grad[0]  # descending the loss raises the strong texture's timestep, lowers the flat one's


def test_no_qualifying_pair_gives_zero() -> None:
    _, x = images()
    same = x[2:].repeat(3, 1, 1, 1)
    assert timestep_rank_loss(torch.tensor([10.0, 500.0, 90.0]), same).item() == 0.0
