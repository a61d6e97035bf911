"""The Ray engine on a local cluster started once for the module (2 CPUs, torn down after): outputs
byte-identical to the local engine's, failures recorded, resume, a killed worker, decode, the audit,
and the CLI joining the cluster by address."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tadmcodec.batch import BatchOptions, RayOptions, audit, run_batch
from tadmcodec.options import DecodeOptions, EncodeOptions

pytestmark = [pytest.mark.ray, pytest.mark.usefixtures("registered_models")]
ENCODE = BatchOptions(EncodeOptions(model="test-16x"), threads=1)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest_lines(out: Path) -> list[dict]:
    """Whole records in file order, parsed here."""
    text = (out / "manifest.jsonl").read_text() if (out / "manifest.jsonl").exists() else ""
    return [json.loads(line) for line in text.splitlines() if line.startswith("{") and line.endswith("}")]


@pytest.fixture(scope="module")
def cluster(model_root: Path) -> Iterator[str]:
    import ray

    """A local Ray cluster for this module; its address, for processes that join it."""
    os.environ["TADMCODEC_MODEL_PATH"] = str(model_root)  # the workers inherit it and resolve test models
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eleven small random images and one corrupt file."""
    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(1)
    for index in range(11):
        pixels = rng.integers(0, 256, (48 + 8 * index, 64, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{index:02d}.png")
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40))
    return folder


@pytest.fixture(scope="module")
def local_outputs(images: Path, tmp_path_factory: pytest.TempPathFactory, registered_models: Path) -> Path:
    out = tmp_path_factory.mktemp("local")
    report = run_batch([images], out, ENCODE)
    assert report.done == 11 and len(report.failed) == 1
    return out


def test_ray_encodes_as_the_local_engine_and_records_the_corrupt_input(
    cluster: str, images: Path, local_outputs: Path, tmp_path: Path
) -> None:
    report = run_batch([images], tmp_path, ENCODE, engine="ray", ray=RayOptions(workers=2))
    assert report.done == 11 and [Path(r["input"]).name for r in report.failed] == ["corrupt.png"]
    for index in range(11):
        name = f"{index:02d}.tadm"
        assert (tmp_path / name).read_bytes() == (local_outputs / name).read_bytes()
    records = {Path(r["input"]).name: r for r in manifest_lines(tmp_path)}
    assert len(records) == 12 and "cannot read image" in records["corrupt.png"]["error"]
    for index in range(11):
        record = records[f"{index:02d}.png"]
        assert record["status"] == "ok" and record["input_sha256"] == sha256(images / f"{index:02d}.png")
        assert record["output_sha256"] == sha256(tmp_path / f"{index:02d}.tadm")
        assert record["output_bytes"] == (tmp_path / f"{index:02d}.tadm").stat().st_size


def test_a_ray_rerun_redoes_exactly_the_missing_and_damaged(cluster: str, images: Path, tmp_path: Path) -> None:
    run_batch([images], tmp_path, ENCODE, engine="ray")
    for index in (0, 1, 2):
        (tmp_path / f"{index:02d}.tadm").unlink()
    damaged = bytearray((tmp_path / "03.tadm").read_bytes())
    damaged[60] ^= 0x10
    (tmp_path / "03.tadm").write_bytes(bytes(damaged))
    kept = {index: (tmp_path / f"{index:02d}.tadm").stat().st_mtime_ns for index in range(4, 11)}
    lines_before = len(manifest_lines(tmp_path))
    report = run_batch([images], tmp_path, ENCODE, engine="ray")
    redone = sorted(Path(r["input"]).name for r in manifest_lines(tmp_path)[lines_before:])
    assert redone == ["00.png", "01.png", "02.png", "03.png", "corrupt.png"]  # the corrupt one is retried, fails
    assert report.kept == 7 and report.done == 4
    assert {index: (tmp_path / f"{index:02d}.tadm").stat().st_mtime_ns for index in range(4, 11)} == kept
    redone_03 = next(r for r in manifest_lines(tmp_path)[lines_before:] if r["input"].endswith("03.png"))
    assert redone_03["status"] == "ok" and redone_03["output_sha256"] == sha256(tmp_path / "03.tadm")


def _worker_pids() -> list[int]:
    """Process ids of the live map workers, through Ray's global state (the cluster's control store)."""
    from ray._private import state

    return [
        actor["Pid"]
        for actor in state.actors().values()
        if "_Worker" in actor["ActorClassName"] and actor["State"] == "ALIVE" and actor["Pid"]
    ]


def test_a_killed_worker_is_replaced_and_every_input_encoded_once(
    cluster: str, tmp_path: Path, local_outputs: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    rng = np.random.default_rng(2)
    for index in range(16):
        Image.fromarray(rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)).save(folder / f"{index:02d}.png")
    out = tmp_path / "out"
    result: dict = {}
    job = threading.Thread(
        target=lambda: result.update(report=run_batch([folder], out, ENCODE, engine="ray", ray=RayOptions(workers=2)))
    )
    job.start()
    deadline = time.monotonic() + 120
    while not manifest_lines(out) and time.monotonic() < deadline:
        time.sleep(0.05)
    pids = _worker_pids()
    done_at_kill = len(manifest_lines(out))
    assert pids and 0 < done_at_kill < 16, "the kill must land while files are still to do"
    os.kill(pids[0], signal.SIGKILL)
    job.join(timeout=300)
    report = result["report"]
    assert report.done == 16 and not report.failed
    records = manifest_lines(out)
    assert sorted(Path(r["input"]).name for r in records) == sorted(f"{i:02d}.png" for i in range(16))
    assert all(r["output_sha256"] == sha256(out / f"{Path(r['input']).stem}.tadm") for r in records)
    assert sorted(p.name for p in out.iterdir()) == sorted([f"{i:02d}.tadm" for i in range(16)] + ["manifest.jsonl"])


def test_ray_decodes_as_the_local_engine_and_the_cli_joins_by_address(
    cluster: str, local_outputs: Path, tmp_path: Path
) -> None:
    decode = BatchOptions(DecodeOptions(), format="png", threads=1)
    run_batch([local_outputs], tmp_path / "local", decode)
    command = [
        sys.executable,
        "-m",
        "tadmcodec",
        "decode",
        str(local_outputs),
        "--out-dir",
        str(tmp_path / "ray"),
        "--engine",
        "ray",
        "--ray-address",
        cluster,
        "--threads",
        "1",
        "--quiet",
    ]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.startswith("decoded 11 file(s), 0 failed")
    for index in range(11):
        name = f"{index:02d}.png"
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()


def test_the_audit_on_ray_finds_a_flipped_byte_and_a_missing_file(cluster: str, images: Path, tmp_path: Path) -> None:
    run_batch([images], tmp_path, ENCODE)
    manifest = tmp_path / "manifest.jsonl"
    assert audit(manifest, engine="ray") == []
    flipped = bytearray((tmp_path / "05.tadm").read_bytes())
    flipped[-12] ^= 0x01
    (tmp_path / "05.tadm").write_bytes(bytes(flipped))
    (tmp_path / "07.tadm").unlink()
    problems = sorted(audit(manifest, engine="ray"))
    assert problems == [
        f"{tmp_path / '05.tadm'}: SHA-256 differs from the manifest",
        f"{tmp_path / '07.tadm'}: missing",
    ]
