"""Typed training configs: one frozen dataclass per stage, read from a stage's JSON and checked on load.

A config names its stage (`vae`, `unet`, `vae_decoder`, `dfrm`, `enhance`, `joint`, `timesteps`); its
keys are that stage's fields below, and its `loss` weights that stage's loss terms. A key or a loss term
the stage does not know, a missing required key, or a value of the wrong type is refused in one line
(TadmError) before any work, so a typo cannot silently train with a default.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ..errors import TadmError


@dataclass(frozen=True, kw_only=True)
class StageConfig:
    """What every stage reads: data, schedule, optimiser, logging and the backbone."""

    name: str
    stage: str
    train: list[str]  # image folders or packs (tools/gpu/pack.py)
    val: list[str]
    backbone: str
    crop: int
    batch: int
    lr: float
    steps: int
    seed: int = 0
    threads: int | None = None  # torch's default when unset
    log_every: int = 20
    val_every: int = 200
    checkpoint_every: int = 100
    export_every_minutes: float | None = None
    val_batch: int = 16
    val_crop: int | None = None  # crop when unset
    train_limit: int | None = None
    crops_per_image: int = 1
    clip: float = 1.0
    weight_decay: float = 0.0
    loss: dict[str, float] = field(default_factory=dict)

    LOSS_TERMS: ClassVar[frozenset[str]] = frozenset()
    REQUIRED_TERMS: ClassVar[frozenset[str]] = frozenset()

    def weight(self, term: str, default: float) -> float:
        """The loss weight of `term` (one of the stage's LOSS_TERMS), or `default` when the config leaves it out."""
        return self.loss.get(term, default)

    def output(self) -> Path:
        """The folder the stage exports to (and that must never be a released model)."""
        raise NotImplementedError


@dataclass(frozen=True, kw_only=True)
class BackboneStageConfig(StageConfig):
    """Stage 0 (`vae`, `unet`): trains a tiny backbone in place, first copied from `init_backbone`."""

    init_backbone: str | None = None
    vae: dict[str, Any] = field(default_factory=dict)  # tiny_vae options (a fresh VAE only)
    unet: dict[str, Any] = field(default_factory=dict)  # tiny_unet options (a fresh U-Net only)

    LOSS_TERMS = frozenset({"gradient"})

    def output(self) -> Path:
        return Path(self.backbone)


@dataclass(frozen=True, kw_only=True)
class AdversarialOptions:
    """Mixed into the stages that train with a patch discriminator (training.adversarial.AdversarialTerm)."""

    discriminator: dict[str, int] = field(default_factory=dict)  # PatchDiscriminator options
    disc_lr: float | None = None  # lr when unset


ADVERSARIAL_TERMS = frozenset({"adversarial", "adversarial_start"})


@dataclass(frozen=True, kw_only=True)
class VAEDecoderConfig(AdversarialOptions, StageConfig):
    """`vae_decoder`: a new decoder for a backbone's frozen encoder, exported as a backbone to `export`."""

    export: str
    decoder: str = "conv"  # or "hybrid"
    decoder_widths: list[int] = field(default_factory=lambda: [96, 64, 32, 16])
    decoder_options: dict[str, Any] = field(default_factory=dict)
    init_vae: str | None = None
    latents_from: list[str] = field(default_factory=list)
    trainable: str = "decoder"  # or "detail_head"

    LOSS_TERMS = frozenset({"gradient", "grid", "detail", "detail_max", "latent_noise"}) | ADVERSARIAL_TERMS

    def output(self) -> Path:
        return Path(self.export)


@dataclass(frozen=True, kw_only=True)
class ModelStageConfig(AdversarialOptions, StageConfig):
    """Stages 1-3 (`dfrm`, `enhance`, `joint`): train a TADM model folder, first copied from `init_model`
    or, for `dfrm`, built from `model_config`."""

    model: str
    init_model: str | None = None
    model_config: dict[str, Any] = field(default_factory=dict)  # TADMModel options (a fresh model only)

    LOSS_TERMS = frozenset({"rec", "rec_pixel", "gui", "pec", "grid", "timestep_rank"}) | ADVERSARIAL_TERMS

    def output(self) -> Path:
        return Path(self.model)


@dataclass(frozen=True, kw_only=True)
class TimestepConfig(ModelStageConfig):
    """`timesteps`: the TPM alone, its batch mean held at loss["timestep_mean"]."""

    LOSS_TERMS = frozenset({"timestep_mean", "timestep_rank", "level"})
    REQUIRED_TERMS = frozenset({"timestep_mean"})


STAGES: dict[str, type[StageConfig]] = {
    "vae": BackboneStageConfig,
    "unet": BackboneStageConfig,
    "vae_decoder": VAEDecoderConfig,
    "dfrm": ModelStageConfig,
    "enhance": ModelStageConfig,
    "joint": ModelStageConfig,
    "timesteps": TimestepConfig,
}


def parse_config(values: Mapping[str, Any]) -> StageConfig:
    """The typed config of a stage from its JSON values; TadmError names what is wrong, in one line."""
    kind = values.get("stage")
    if kind not in STAGES:
        raise TadmError(f"training config: stage {kind!r} is not one of {', '.join(STAGES)}")
    cls = STAGES[kind]
    fields = {f.name: f for f in dataclasses.fields(cls)}
    where = f"training config {values.get('name', '?')!r} ({kind})"
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise TadmError(f"{where}: unknown keys {', '.join(unknown)} (known: {', '.join(sorted(fields))})")
    missing = sorted(name for name, f in fields.items() if name not in values and _required(f))
    if missing:
        raise TadmError(f"{where}: missing keys {', '.join(missing)}")
    hints = typing.get_type_hints(cls)
    converted = {}
    for key, value in values.items():
        if key in ("train", "val") and isinstance(value, str):
            value = [value]
        if not _matches(value, hints[key]):
            raise TadmError(f"{where}: {key} is {value!r}, not {_describe(hints[key])}")
        converted[key] = value
    terms = sorted(set(converted.get("loss", {})) - cls.LOSS_TERMS)
    if terms:
        raise TadmError(f"{where}: unknown loss terms {', '.join(terms)} (known: {', '.join(sorted(cls.LOSS_TERMS))})")
    absent = sorted(cls.REQUIRED_TERMS - set(converted.get("loss", {})))
    if absent:
        raise TadmError(f"{where}: missing loss terms {', '.join(absent)}")
    return cls(**converted)


def _required(f: dataclasses.Field) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _matches(value: Any, hint: Any) -> bool:
    """Whether a JSON value fits a field's type (an int fits a float field; a bool fits no number)."""
    origin, arguments = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, argument) for argument in arguments)
    if hint is type(None):
        return value is None
    if hint is Any:
        return True
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is list:
        return isinstance(value, list | tuple) and all(_matches(item, arguments[0]) for item in value)
    if origin is dict:
        return isinstance(value, Mapping) and all(_matches(item, arguments[1]) for item in value.values())
    return isinstance(value, hint)


def _describe(hint: Any) -> str:
    """A field's type as a config author writes it: int, float | None, list[str]."""
    text = hint.__name__ if isinstance(hint, type) else str(hint)
    return text.replace("typing.", "").replace("NoneType", "None")
