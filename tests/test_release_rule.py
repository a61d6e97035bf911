"""tools.release's rule for shipping a retrained model: more targets met, or every met target kept while
the figures move forward beyond measurement noise."""

from __future__ import annotations

from typing import Any

from tools.release import compare


def _validation(
    psnr_gain: float = 1.2, s2_gain: float = 13.0, detail: float = 0.023, lr: float = 32.5, grid: float = -0.02
) -> dict[str, Any]:
    return {
        "mean": {"tadm": {"detail_ratio": detail, "lr_psnr_vs_area": lr, "grid_h": grid, "grid_v": grid}},
        "gain_over_bicubic": {"psnr_y": psnr_gain, "ssimulacra2": s2_gain},
        "timesteps": {"spearman_t_vs_hf_energy_mean_per_image": 0.9},
    }


def test_a_candidate_that_keeps_every_met_target_and_gains_is_better() -> None:
    assert compare(_validation(), _validation(psnr_gain=1.5, s2_gain=17.0, lr=34.5), 16)["better"]


def test_a_gain_bought_with_a_lost_target_is_not_better() -> None:
    """Release 5's first GPU candidate: +0.35 dB and +4 SSIMULACRA2, but a 12 % 8-pixel grid."""
    assert not compare(_validation(), _validation(psnr_gain=1.57, s2_gain=17.3, lr=34.5, grid=0.12), 16)["better"]


def test_a_gain_with_a_figure_falling_beyond_noise_is_not_better() -> None:
    assert not compare(_validation(), _validation(psnr_gain=1.4, detail=0.015), 16)["better"]


def test_changes_within_noise_are_not_better_but_the_same() -> None:
    """A faster decode definition that moves figures by noise only (--allow-same) is 'same', not 'better'."""
    report = compare(_validation(), _validation(psnr_gain=1.21, lr=32.52), 16)
    assert report["same"] and not report["better"]
    report = compare(_validation(), _validation(), 16)
    assert report["same"] and not report["better"]
    assert not compare(_validation(), _validation(psnr_gain=1.25), 16)["same"]


def test_more_targets_met_is_better() -> None:
    assert compare(_validation(detail=0.023), _validation(detail=0.31, psnr_gain=1.1, s2_gain=12.0), 16)["better"]


def test_a_grid_excess_below_zero_is_no_grid() -> None:
    """Block edges smoother than the rest (-2 % -> -0.2 %) is not a grid appearing; +1.5 % is."""
    assert compare(_validation(grid=-0.02), _validation(psnr_gain=1.5, grid=-0.002), 16)["better"]
    assert not compare(_validation(grid=-0.02), _validation(psnr_gain=1.5, grid=0.015), 16)["better"]


def test_a_waived_figure_may_move_but_must_keep_its_target() -> None:
    """A release with a new patch grid correlates timesteps over other patches: its Spearman moves
    (0.937 -> 0.903) without the model changing; waived, it only has to stay above the target."""
    shipped = _validation()
    moved = _validation()
    moved["timesteps"]["spearman_t_vs_hf_energy_mean_per_image"] = 0.85
    assert not compare(shipped, moved, 16)["same"]
    assert compare(shipped, moved, 16, waived=("spearman",))["same"]
    lost = _validation()
    lost["timesteps"]["spearman_t_vs_hf_energy_mean_per_image"] = 0.3
    assert not compare(shipped, lost, 16, waived=("spearman",))["same"]


def _record(
    alex: float,
    previous_alex: float,
    psnr_y: float,
    grid: float = 0.01,
    detail: float = 0.4,
    previous_detail: float = 0.4,
) -> dict[str, Any]:
    """A compare record of 10 images, avif-rescaled at Alex 0.5 on each, each model at its mean on each."""
    model = {"alex": alex, "psnr_y": psnr_y, "grid": grid, "detail": detail}
    previous = {"alex": previous_alex, "psnr_y": 22.7, "grid": 0.01, "detail": previous_detail}
    avif = {"alex": 0.5, "psnr_y": 25.0}
    return {
        "scale": 16,
        "means": {"model": model, "previous": previous, "bicubic": {"psnr_y": 22.0}, "avif-rescaled": avif},
        "per_image": [{"model": model, "previous": previous, "avif-rescaled": avif}] * 10,
    }


def test_the_perceptual_rule_wants_a_lower_st_lpips_and_fidelity_above_bicubic() -> None:
    from tools.release import perceptual_rule

    assert perceptual_rule(_record(0.45, 0.62, 22.6))["better"]
    assert not perceptual_rule(_record(0.45, 0.62, 22.4))["better"]  # fidelity collapsed below bicubic + 0.5
    assert not perceptual_rule(_record(0.618, 0.62, 23.0))["better"]  # within noise
    assert not perceptual_rule(_record(0.392, 0.653, 22.58, grid=0.151))["better"]  # the first candidate: a grid


def test_a_candidate_that_meets_the_whole_target_table_ships_where_the_previous_did_not() -> None:
    from tools.release import perceptual_rule

    report = perceptual_rule(_record(0.41, 0.38, 22.6, detail=0.51, previous_detail=0.38))
    assert report["better"] and report["meets_targets"]  # a higher Alex, but the detail row now met
    assert not report["previous_targets"]["detail_ratio"]
    assert not perceptual_rule(_record(0.41, 0.38, 22.6, detail=0.51, previous_detail=0.5))["better"]  # both meet
    assert not perceptual_rule(_record(0.41, 0.38, 22.4, detail=0.51, previous_detail=0.38))["better"]  # floor
    assert not perceptual_rule(_record(0.51, 0.38, 22.6, detail=0.6, previous_detail=0.38))["better"]  # avif closer
