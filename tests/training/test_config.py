"""Typed training configs: every shipped config parses to its stage's dataclass; an unknown key or loss
term, a missing key and a wrongly typed value are refused in one line before any work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tadmcodec.errors import TadmError
from tadmcodec.training.config import BackboneStageConfig, ModelStageConfig, TimestepConfig, parse_config

CONFIGS = sorted((Path(__file__).parents[2] / "tadmcodec" / "training" / "configs").glob("*.json"))
JOINT = {
    "name": "j",
    "stage": "joint",
    "train": "data/train",
    "val": ["data/val"],
    "backbone": "runs/b",
    "model": "runs/m",
    "crop": 64,
    "batch": 2,
    "lr": 1e-4,
    "steps": 10,
    "loss": {"grid": 0.5},
}


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_every_shipped_config_parses(path: Path) -> None:
    values = json.loads(path.read_text())
    config = parse_config(values)
    assert config.stage == values["stage"] and config.steps == values["steps"]
    assert set(config.loss) == set(values.get("loss", {}))


def test_fields_and_defaults_are_typed_attributes() -> None:
    config = parse_config(JOINT)
    assert isinstance(config, ModelStageConfig)
    assert config.train == ["data/train"]  # one folder is a list of one
    assert config.val_every == 200 and config.disc_lr is None and config.clip == 1.0
    assert config.weight("grid", 0.0) == 0.5 and config.weight("pec", 0.5) == 0.5
    assert str(config.output()) == "runs/m"
    vae = {k: v for k, v in JOINT.items() if k != "model"} | {"stage": "vae", "loss": {"gradient": 1.0}}
    assert isinstance(parse_config(vae), BackboneStageConfig) and str(parse_config(vae).output()) == "runs/b"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"stage": "joints"}, "stage 'joints' is not one of vae, unet"),
        ({"val_evrey": 10}, "unknown keys val_evrey (known:"),
        ({"export": "x"}, "unknown keys export"),  # a vae_decoder key in a joint config
        ({"loss": {"gird": 1.0}}, "unknown loss terms gird (known:"),
        ({"steps": "10"}, "steps is '10', not int"),
        ({"steps": True}, "steps is True, not int"),
        ({"lr": None}, "lr is None, not float"),
        ({"train": [1]}, "train is [1], not list[str]"),
    ],
)
def test_bad_configs_are_refused_in_one_line(change: dict, message: str) -> None:
    with pytest.raises(TadmError) as caught:
        parse_config(JOINT | change)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_missing_keys_and_loss_terms_are_named() -> None:
    with pytest.raises(TadmError, match="missing keys lr, model"):
        parse_config({k: v for k, v in JOINT.items() if k not in ("lr", "model")})
    with pytest.raises(TadmError, match="missing loss terms timestep_mean"):
        parse_config(JOINT | {"stage": "timesteps", "loss": {}})
    assert isinstance(parse_config(JOINT | {"stage": "timesteps", "loss": {"timestep_mean": 40}}), TimestepConfig)


def test_an_unknown_key_stops_training_before_any_work(tmp_path: Path) -> None:
    from tadmcodec.training.train import train

    with pytest.raises(TadmError, match="unknown keys chekpoint_every"):
        train(JOINT | {"model": str(tmp_path / "m"), "chekpoint_every": 5}, tmp_path / "runs")
    assert not (tmp_path / "runs").exists() and not (tmp_path / "m").exists()
