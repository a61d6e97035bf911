"""Model folders, the registry and devices: clear errors for unknown models, missing weights, absent devices."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from tadmcodec.errors import DeviceUnavailableError, MissingWeightsError, UnknownModelError
from tadmcodec.models.lora import lora_state_dict
from tadmcodec.runtime.device import resolve_device
from tadmcodec.runtime.model_loader import load_model_folder, save_model_folder
from tadmcodec.store.hashing import copy_resolving_links, copy_weight_file, write_link
from tadmcodec.store.registry import available_models, resolve_model


def test_registry_finds_user_models_and_lists_them_for_unknown_names(
    model_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TADMCODEC_MODEL_PATH", str(model_root))
    assert resolve_model("test-16x") == model_root / "test-16x"
    assert {"test-16x", "test-32x"} <= set(available_models())
    with pytest.raises(UnknownModelError, match=r"unknown model 'nope'.*test-16x.*test-32x"):
        resolve_model("nope")


def test_model_folder_by_path(model_root: Path) -> None:
    assert resolve_model(str(model_root / "test-32x"), allow_path=True) == model_root / "test-32x"
    with pytest.raises(UnknownModelError):
        resolve_model(str(model_root / "test-32x"))  # a name read from a file is never a path


def test_lora_is_saved_apart_and_round_trips(model_root: Path) -> None:
    folder = model_root / "test-16x"
    model = load_model_folder(folder)
    stored = lora_state_dict(model.backbone.unet)
    assert stored and all("lora_" in key for key in stored)
    assert any(value.abs().sum() > 0 for key, value in stored.items() if "lora_B" in key)
    backbone_files = {p.name for p in (model_root / "tiny-backbone" / "unet").iterdir()}
    assert not any("lora" in name for name in backbone_files)


def test_digest_changes_with_the_weights(model_root: Path, tmp_path: Path) -> None:
    copy = _absolute_copy(model_root, tmp_path)
    original = load_model_folder(model_root / "test-16x").digest
    assert load_model_folder(copy).digest == original
    config = json.loads((copy / "config.json").read_text())
    config["lr_halo"] = 5
    (copy / "config.json").write_text(json.dumps(config))
    assert load_model_folder(copy).digest != original


def _absolute_copy(model_root: Path, tmp_path: Path) -> Path:
    """A copy of test-16x in tmp_path whose backbone.json names the backbone by absolute path."""
    copy = tmp_path / "copy-16x"
    shutil.copytree(model_root / "test-16x", copy)
    reference = json.loads((copy / "backbone.json").read_text())
    reference["path"] = str((model_root / "test-16x" / reference["path"]).resolve())
    (copy / "backbone.json").write_text(json.dumps(reference))
    return copy


def test_a_weight_link_loads_the_same_weights_under_the_same_digest(model_root: Path, tmp_path: Path) -> None:
    """Releases share identical weight files through links: the model and its digest do not change."""
    copy = _absolute_copy(model_root, tmp_path)
    shared = tmp_path / "shared"
    shared.mkdir()
    for name in ("lora.safetensors", "diffusion_pytorch_model.safetensors"):
        shutil.copy2(copy / name, shared / name)
        write_link(copy / name, shared / name)
        assert not (copy / name).exists() and (copy / f"{name}.link").is_file()
    original, linked = load_model_folder(model_root / "test-16x"), load_model_folder(copy)
    assert linked.digest == original.digest
    assert all(
        torch.equal(a, b) for a, b in zip(original.state_dict().values(), linked.state_dict().values(), strict=True)
    )
    moved = tmp_path / "moved"  # a copy elsewhere (training starts, tools) holds the files themselves
    copy_resolving_links(copy, moved)
    assert not list(moved.glob("*.link")) and (moved / "lora.safetensors").is_file()
    assert load_model_folder(moved).digest == original.digest


def test_a_link_to_the_same_tensors_under_another_header_keeps_the_digest(model_root: Path, tmp_path: Path) -> None:
    """A file whose tensors a released file holds under another safetensors header links to it: the link
    records that header, and hashing rebuilds the file's exact bytes."""
    from safetensors.torch import load_file, save_file

    copy = _absolute_copy(model_root, tmp_path)
    other_header = tmp_path / "lora-with-metadata.safetensors"
    save_file(load_file(copy / "lora.safetensors"), other_header, metadata={"format": "pt", "note": "x"})
    write_link(copy / "lora.safetensors", other_header)
    assert json.loads((copy / "lora.safetensors.link").read_text())["metadata"] is None
    assert load_model_folder(copy).digest == load_model_folder(model_root / "test-16x").digest
    copy_weight_file(copy / "lora.safetensors", tmp_path / "copied.safetensors")  # the exact bytes, rebuilt
    assert (tmp_path / "copied.safetensors").read_bytes() == (model_root / "test-16x" / "lora.safetensors").read_bytes()
    different = tmp_path / "different.safetensors"
    save_file({"x": torch.zeros(2)}, different)
    with pytest.raises(ValueError, match="different weights"):
        write_link(copy / "diffusion_pytorch_model.safetensors", different)
    assert (copy / "diffusion_pytorch_model.safetensors").is_file()


def test_a_link_to_different_or_missing_weights_is_refused(model_root: Path, tmp_path: Path) -> None:
    copy = _absolute_copy(model_root, tmp_path)
    shared = tmp_path / "lora.safetensors"
    shutil.copy2(copy / "lora.safetensors", shared)
    write_link(copy / "lora.safetensors", shared)
    data = bytearray(shared.read_bytes())
    data[-1] ^= 1
    shared.write_bytes(bytes(data))
    with pytest.raises(MissingWeightsError, match=r"weight link .* gives SHA-256"):
        load_model_folder(copy)
    shared.unlink()
    with pytest.raises(MissingWeightsError, match="does not exist"):
        load_model_folder(copy)


@pytest.mark.parametrize("missing", ["lora.safetensors", "diffusion_pytorch_model.safetensors", "backbone.json"])
def test_missing_weight_files(model_root: Path, tmp_path: Path, missing: str) -> None:
    copy = tmp_path / "broken"
    shutil.copytree(model_root / "test-16x", copy)
    (copy / missing).unlink()
    with pytest.raises(MissingWeightsError, match=missing):
        load_model_folder(copy)


def test_missing_backbone(model_root: Path, tmp_path: Path) -> None:
    copy = tmp_path / "orphan"
    shutil.copytree(model_root / "test-16x", copy)
    with pytest.raises(MissingWeightsError, match="backbone folder"):
        load_model_folder(copy)


def test_devices() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(None).type in ("cpu", "cuda")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceUnavailableError, match="CUDA is not available"):
            resolve_device("cuda:0")
    with pytest.raises(DeviceUnavailableError):
        resolve_device("tpu")
    with pytest.raises(DeviceUnavailableError):
        resolve_device("not a device")


def test_saving_a_model_folder_again_keeps_its_card_and_results(model_root: Path, tmp_path: Path) -> None:
    """Training exports over a shipped folder: weights are replaced, the model card and results stay."""
    loaded = load_model_folder(model_root / "test-16x")
    folder = tmp_path / "exported-16x"
    save_model_folder(folder, loaded.tadm, loaded.backbone, model_root / "tiny-backbone")
    (folder / "MODEL_CARD.md").write_text("# card")
    (folder / "validation.json").write_text("{}")
    save_model_folder(folder, loaded.tadm, loaded.backbone, model_root / "tiny-backbone")
    assert (folder / "MODEL_CARD.md").read_text() == "# card" and (folder / "validation.json").exists()
    assert load_model_folder(folder).tadm.config.scale == 16
