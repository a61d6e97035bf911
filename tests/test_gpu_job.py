"""The standing GPU job (tools/gpu) run on the CPU in its tiny configuration, so it cannot rot between
device draws: pack, run.sh check, run.sh train, and the adoption of what train returns."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tadmcodec.store.registry import DEFAULT_MODELS
from tools.gpu.pack import pack

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def gpu_pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    photos = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    for index in range(5):
        yy, xx = np.mgrid[:90, :120]
        base = np.stack([xx * 2 + index * 30, yy * 2, (xx * yy) % 255], -1) + rng.normal(0, 10, (90, 120, 3))
        Image.fromarray(np.clip(base, 0, 255).astype(np.uint8)).save(photos / f"{index}.png")
    out = tmp_path_factory.mktemp("pack")
    packed = pack([photos], [photos], out, crop=64, train_mb=0.05, val_count=2)
    assert packed["val_crops"] == 2 and packed["train_crops"] > 5  # a second pass over the five images
    assert packed["train_bytes"] < 0.05e6 + 20_000
    return out


def run_job(mode: str, out: Path, *options: str) -> subprocess.CompletedProcess:
    environment = os.environ | {
        "OUT": str(out),
        "PYTHON": sys.executable,
        "TADM_SITE": str(out.parent / "site"),
        "TADM_NO_WHEELS": "1",
    }
    command = ["bash", "tools/gpu/run.sh", mode, "--tiny", "--device", "cpu", *options]
    return subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=600)


def test_check_mode(tmp_path: Path) -> None:
    result = run_job("check", tmp_path / "out")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((tmp_path / "out" / "check.json").read_text())
    assert [a["model"] for a in report["agreement"]] == [DEFAULT_MODELS[16], DEFAULT_MODELS[32]]
    assert all(a["fp32"]["timesteps_identical"] and a["fp32"]["decode_max_abs_diff"] == 0 for a in report["agreement"])
    assert {row["model"] for row in report["throughput"]} == {DEFAULT_MODELS[16], DEFAULT_MODELS[32]}
    assert report["sd21"]["decode_mp_s"] > 0 and (tmp_path / "out" / "check.log").is_file()


def test_train_mode_and_adoption(tmp_path: Path, gpu_pack: Path) -> None:
    out = tmp_path / "out"
    result = run_job("train", out, "--pack", str(gpu_pack))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    parts = sorted(out.glob("results.tar.gz.*"))
    assert parts and all(p.stat().st_size <= 16 * 2**20 for p in parts)
    summary = json.loads((out / "summary.json").read_text())
    recipe = json.loads((ROOT / "tools" / "gpu" / "recipe.json").read_text())
    assert [s["name"] for s in summary["stages"]] == [stage["name"] for stage in recipe["stages"]]
    assert set(summary["validation"]) == {
        DEFAULT_MODELS[16],
        "default-16x-candidate",
        DEFAULT_MODELS[32],
        "default-32x-candidate",
    }
    adopted = subprocess.run(
        [sys.executable, "-m", "tools.gpu.adopt", str(out), "--val", str(gpu_pack / "val.npz"), "--limit", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert adopted.returncode == 0, adopted.stderr[-3000:]
    comparison = Path(adopted.stdout.strip().splitlines()[-1].split("comparison: ")[1].split(" (")[0])
    report = json.loads(comparison.read_text())
    assert set(report) == {"16x", "32x"} and "released" not in report["16x"]
    with tarfile.open(fileobj=__import__("io").BytesIO(b"".join(p.read_bytes() for p in parts))) as tar:
        names = tar.getnames()
    assert "results/tiny-backbone-candidate/vae/diffusion_pytorch_model.safetensors" in names
    assert "results/default-16x-candidate/backbone.json" in names


def test_a_slim_tree_keeps_what_the_job_loads(tmp_path: Path) -> None:
    """tools.gpu.slim keeps every file the default models and the recipe's backbone need: they load from
    a copy of the package weights that holds those files alone."""
    import shutil

    from tadmcodec.backbones import load_backbone
    from tadmcodec.runtime.model_loader import load_model_folder
    from tadmcodec.store.registry import PACKAGE_WEIGHTS
    from tools.gpu.slim import needed_weight_files, removable

    copy = tmp_path / "weights"
    for path in needed_weight_files():
        target = copy / path.resolve().relative_to(PACKAGE_WEIGHTS.resolve())
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    for name in DEFAULT_MODELS.values():
        load_model_folder(copy / name)
    recipe = json.loads((ROOT / "tools" / "gpu" / "recipe.json").read_text())
    load_backbone(copy / Path(recipe["backbone"]).name)
    assert removable()  # older releases' weights, pictures and references go
