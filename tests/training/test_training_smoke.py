"""A few training steps of each stage on tiny crops made here: losses fall, checkpoints resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from tadmcodec.training.config import parse_config
from tadmcodec.training.train import train


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for index in range(4):
        yy, xx = np.mgrid[:80, :96]
        base = np.stack([xx * 2 + index * 20, yy * 3, (xx * yy) % 255], -1) + rng.normal(0, 8, (80, 96, 3))
        Image.fromarray(np.clip(base, 0, 255).astype(np.uint8)).save(folder / f"{index}.png")
    return folder


MODEL_CONFIG = {
    "scale": 16,
    "dfrm_width": 16,
    "dfrm_blocks": 1,
    "flow_blocks": 2,
    "flow_hidden": 8,
    "tpm_width": 8,
    "scheduler_width": 16,
    "patch_size": 8,
    "patch_overlap": 2,
    "lr_halo": 2,
    "encode_tile": 64,
    "encode_halo": 16,
    "lora_rank": 2,
}


def _config(images: Path, root: Path, stage: str, **extra: object) -> dict:
    """A small config of `stage` with only that stage's keys (training.config refuses others)."""
    common = {
        "name": stage,
        "stage": stage,
        "train": [str(images)],
        "val": [str(images)],
        "crop": 64,
        "batch": 4,
        "val_batch": 2,
        "lr": 1e-3,
        "steps": 24,
        "seed": 0,
        "threads": 1,
        "log_every": 8,
        "val_every": 24,
        "checkpoint_every": 12,
        "backbone": str(root / "backbone"),
    }
    if stage in ("vae", "unet"):
        common |= {"vae": {"latent_channels": 4, "width": 16}, "unet": {"width": 16}}
    elif stage != "vae_decoder":
        common |= {"model": str(root / "model-16x"), "model_config": dict(MODEL_CONFIG)}
    return common | extra


def _losses(log: Path, key: str) -> list[float]:
    return [r[key] for r in map(json.loads, log.read_text().splitlines()) if key in r]


@pytest.mark.slow
def test_all_stages_train_and_resume(images: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    for stage, key in (("vae", "l1"), ("unet", "mse"), ("dfrm", "rec_latent"), ("enhance", "l1"), ("joint", "l1")):
        config = _config(images, tmp_path, stage, **({"loss": {"grid": 0.5}} if stage == "joint" else {}))
        metrics = train(config, runs)
        assert metrics["step"] == 24
        losses = _losses(runs / stage / "log.jsonl", key)
        assert len(losses) == 3
        if stage in ("vae", "unet", "dfrm"):
            assert losses[-1] < losses[0], (stage, losses)
    assert len(_losses(runs / "joint" / "log.jsonl", "grid")) == 3  # the joint stage's optional grid penalty
    assert (tmp_path / "model-16x" / "lora.safetensors").is_file()
    weights = tmp_path / "model-16x" / "diffusion_pytorch_model.safetensors"
    before, lora = load_file(weights), (tmp_path / "model-16x" / "lora.safetensors").read_bytes()
    train(_config(images, tmp_path, "timesteps", loss={"timestep_mean": 50.0}), runs)
    after = load_file(weights)
    changed = {name for name in before if not torch.equal(before[name], after[name])}
    assert changed and all(name.startswith("tpm.") for name in changed), changed  # the TPM alone trains
    assert (tmp_path / "model-16x" / "lora.safetensors").read_bytes() == lora
    config = _config(images, tmp_path, "vae", steps=32)
    assert train(config, runs)["step"] == 32  # resumed from step 24, not restarted
    assert len(_losses(runs / "vae" / "log.jsonl", "l1")) == 4


@pytest.mark.sd21
def test_sd21_models_train_with_the_same_code(images: Path, tmp_path: Path) -> None:
    """Stages 1-3 on a tiny random SD 2.1-layout backbone (text-conditioned U-Net, AutoencoderKL)."""
    from tadmcodec.runtime.model_loader import load_model_folder
    from tests.model.test_sd21_backbone import save_tiny_sd_layout

    save_tiny_sd_layout(tmp_path / "sd21")
    runs = tmp_path / "runs"
    for stage, key in (("dfrm", "rec_latent"), ("enhance", "l1"), ("joint", "l1")):
        config = _config(images, tmp_path, stage, backbone=str(tmp_path / "sd21"), steps=16, val_every=16)
        config["model_config"] |= {"backbone": "sd21", "patch_size": 8}
        assert train(config, runs)["step"] == 16
        losses = _losses(runs / stage / "log.jsonl", key)
        assert len(losses) == 2 and all(np.isfinite(losses))
        if stage == "dfrm":
            assert losses[-1] < losses[0], losses
    loaded = load_model_folder(tmp_path / "model-16x")
    assert loaded.backbone.conditional and (tmp_path / "model-16x" / "null_embedding.safetensors").is_file()


def test_conv_decoder_stage_keeps_the_latent_space_and_trains_adversarially(images: Path, tmp_path: Path) -> None:
    """vae_decoder: the exported backbone has the source encoder bit for bit, a conv decoder, the same
    U-Net; the discriminator trains after adversarial_start; the source folder is never written."""
    from tadmcodec.backbones import load_backbone
    from tadmcodec.backbones.tiny import save_tiny_backbone

    source = save_tiny_backbone(tmp_path / "source", latent_channels=4, vae_width=8, unet_width=16)
    before = {p: p.read_bytes() for p in source.rglob("*") if p.is_file()}
    config = _config(
        images,
        tmp_path,
        "vae_decoder",
        backbone=str(source),
        export=str(tmp_path / "r2"),
        decoder_widths=[16, 8, 8, 4],
        discriminator={"width": 8, "layers": 2},
        loss={"adversarial": 0.5, "adversarial_start": 16, "latent_noise": 0.1},
    )
    metrics = train(config, tmp_path / "runs")
    assert {"psnr", "detail_ratio", "grid_h", "grid_v"} <= set(metrics)
    log = tmp_path / "runs" / "vae_decoder" / "log.jsonl"
    assert len(_losses(log, "d")) == 1 and len(_losses(log, "l1")) == 3  # adversarial in the last log interval
    assert {p: p.read_bytes() for p in source.rglob("*") if p.is_file()} == before
    old, new = load_backbone(source), load_backbone(tmp_path / "r2")
    assert new.vae.config.decoder == "conv" and not hasattr(new.vae, "decode_linear")
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    assert torch.equal(old.encode(x), new.encode(x))
    assert new.decode(new.encode(x)).shape == x.shape
    for a, b in zip(old.unet.parameters(), new.unet.parameters(), strict=True):
        assert torch.equal(a, b)
    resumed = train(config | {"steps": 28}, tmp_path / "runs")
    assert resumed["step"] == 28  # resumed from the step-24 checkpoint with the discriminator's state


def test_hybrid_decoder_starts_at_the_block_decoder_and_trains_its_residual(images: Path, tmp_path: Path) -> None:
    """vae_decoder with decoder "hybrid": before any step it decodes exactly as the source's block decoder;
    after training the encoder is unchanged and the decode differs (the conv residual learned)."""
    from tadmcodec.backbones import load_backbone
    from tadmcodec.backbones.tiny import save_tiny_backbone
    from tadmcodec.training.stages import build_stage

    source = save_tiny_backbone(tmp_path / "source", latent_channels=4, vae_width=8, unet_width=16)
    config = _config(
        images,
        tmp_path,
        "vae_decoder",
        backbone=str(source),
        export=str(tmp_path / "r2"),
        decoder="hybrid",
        decoder_widths=[8, 8, 4, 4],
        steps=16,
        val_every=16,
        lr=3e-3,
    )
    old = load_backbone(source)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        z = old.vae.encode(x).latent_dist.mean
        assert torch.equal(build_stage(parse_config(config)).vae.decode(z).sample, old.vae.decode(z).sample)
    train(config, tmp_path / "runs")
    new = load_backbone(tmp_path / "r2")
    assert new.vae.config.decoder == "hybrid"
    encoder = {key: value for key, value in old.vae.state_dict().items() if key.startswith("encode_")}
    assert all(torch.equal(value, new.vae.state_dict()[key]) for key, value in encoder.items())  # same latent space
    with torch.no_grad():
        assert not torch.allclose(new.vae.decode(z).sample, old.vae.decode(z).sample, atol=1e-4)


def test_decoder_learning_from_a_models_latents_starts_at_its_decode(images: Path, tmp_path: Path) -> None:
    """vae_decoder with latents_from: a hybrid decoder at step 0 renders a model's denoised latents exactly
    as the model's own decode does (same latent scaling), trains on them, reporting per model scale, and
    moves those models with it to the training device."""
    from tadmcodec.backbones.tiny import save_tiny_backbone
    from tadmcodec.runtime.model_loader import load_model_folder
    from tadmcodec.training.stages import build_stage

    source = save_tiny_backbone(tmp_path / "source", latent_channels=4, vae_width=8, unet_width=16)
    train(_config(images, tmp_path, "dfrm", backbone=str(source), steps=8, val_every=8), tmp_path / "runs")
    config = _config(
        images,
        tmp_path,
        "vae_decoder",
        backbone=str(source),
        export=str(tmp_path / "r2"),
        decoder="hybrid",
        decoder_widths=[8, 8, 4, 4],
        steps=8,
        val_every=8,
        latents_from=[str(tmp_path / "model-16x")],
    )
    model, stage = load_model_folder(tmp_path / "model-16x"), build_stage(parse_config(config))
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        z0 = model(x, render=False)["z0"]
        assert torch.equal(stage._render(stage._latent(x, 0.0, stage.sources[0])), model.render(z0))
    metrics = train(config, tmp_path / "runs")
    assert {"16x_psnr", "16x_detail_ratio", "16x_grid_h"} <= set(metrics) and np.isfinite(metrics["16x_psnr"])
    stage.to(torch.device("meta"))  # the source models move with the stage (a GPU run failed without it)
    assert all(p.device.type == "meta" for m in [stage.vae, *stage.sources] for p in m.parameters())


def test_a_detail_head_trains_alone_and_leaves_the_decoder_as_it_was(images: Path, tmp_path: Path) -> None:
    """vae_decoder with decoder_options {"detail_head"} and trainable "detail_head", on a model with texture
    timesteps: every weight of the decoder stays exactly (without detail it decodes the same pixels),
    the head learns, and validation reports the strengths of the dial."""
    from tadmcodec.backbones import load_backbone
    from tests.conftest import build_model_folder

    model = build_model_folder(tmp_path, 16, texture_timesteps=(1.0, 5.0, 10, 200))
    source = tmp_path / "tiny-backbone"
    config = _config(
        images,
        tmp_path,
        "vae_decoder",
        backbone=str(source),
        export=str(tmp_path / "r4"),
        decoder="block",
        decoder_options={"detail_head": 4},
        trainable="detail_head",
        steps=8,
        val_every=8,
        latents_from=[str(model)],
        loss={"detail": 0.02, "adversarial": 0.5},
    )
    metrics = train(config, tmp_path / "runs")
    old, new = load_backbone(source).vae, load_backbone(tmp_path / "r4").vae
    new_state = new.state_dict()
    assert all(torch.equal(value, new_state[key]) for key, value in old.state_dict().items())
    assert {key for key in new_state if key not in old.state_dict()} == {k for k in new_state if "detail_head" in k}
    z = torch.randn(1, 4, 8, 8)
    with torch.no_grad():
        assert torch.equal(new.decode(z).sample, old.decode(z).sample)
        assert not torch.equal(new.decode(z, torch.full((1, 1, 8, 8), 100.0)).sample, old.decode(z).sample)
    assert metrics["16x_s1.0_detail_ratio"] > metrics["16x_detail_ratio"]


@pytest.mark.slow
def test_shipped_configs_never_write_into_released_models(
    images: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One step of every shipped config, run as the README says (paths relative to a working folder
    where tadmcodec/ is the package): the released weights stay byte for byte, outputs go to runs/."""
    import hashlib

    import tadmcodec
    from tadmcodec.errors import TadmError

    package = Path(tadmcodec.__file__).parent
    weights = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (package / "weights").rglob("*") if p.is_file()}
    (tmp_path / "tadmcodec").symlink_to(package)
    monkeypatch.chdir(tmp_path)
    for path in sorted((package / "training" / "configs").glob("*.json")):
        config = json.loads(path.read_text()) | {
            "train": [str(images)],
            "val": [str(images)],
            "crop": 64,
            "val_crop": 64,
            "batch": 1,
            "steps": 1,
            "threads": 1,
            "val_batch": 2,
        }
        assert train(config, tmp_path / "runs")["step"] == 1, path.name
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in weights} == weights
    assert (tmp_path / "runs" / "default-16x" / "model" / "lora.safetensors").is_file()
    shipped = json.loads((package / "training" / "configs" / "default-16x-stage2.json").read_text())
    with pytest.raises(TadmError, match="released model"):
        train(shipped | {"model": "tadmcodec/weights/default-16x", "steps": 1}, tmp_path / "runs")
