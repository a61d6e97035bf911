"""Batch manifests: a record per input with hashes checked independently here, resume that redoes exactly
the missing and damaged outputs, torn lines ignored, and the fixity audit."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tadmcodec.cli import main

pytestmark = pytest.mark.usefixtures("registered_models")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def records(out: Path) -> dict[str, dict]:
    """The latest record per input name, parsed here (whole lines only)."""
    found = {}
    for line in (out / "manifest.jsonl").read_text().splitlines():
        if line.startswith("{") and line.endswith("}"):
            record = json.loads(line)
            found[Path(record["input"]).name] = record
    return found


@pytest.fixture
def batch(tmp_path: Path) -> tuple[Path, Path, list[str]]:
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for index in range(5):
        Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(folder / f"{index}.png")
    (folder / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    arguments = ["encode", str(folder), "--out-dir", str(out), "--model", "test-16x", "--quiet"]
    assert main(arguments) == 1  # the corrupt input fails, the others do not stop
    return folder, out, arguments


def test_every_input_is_recorded_with_its_hashes(batch: tuple[Path, Path, list[str]]) -> None:
    folder, out, _ = batch
    found = records(out)
    assert set(found) == {f"{i}.png" for i in range(5)} | {"bad.png"}
    assert found["bad.png"]["status"] == "failed" and "cannot read image" in found["bad.png"]["error"]
    for index in range(5):
        record, output = found[f"{index}.png"], out / f"{index}.tadm"
        assert record["status"] == "ok" and record["output"] == str(output)
        assert record["input_sha256"] == sha256(folder / f"{index}.png")
        assert record["output_sha256"] == sha256(output) and record["output_bytes"] == output.stat().st_size
        assert record["model"] == "test-16x" and record["scale"] == 16 and len(record["model_sha256"]) == 64
        assert record["bpp"] == pytest.approx(8 * output.stat().st_size / (40 * 48), rel=1e-4)


def test_a_rerun_redoes_exactly_the_missing_and_damaged(batch: tuple[Path, Path, list[str]]) -> None:
    _, out, arguments = batch
    (out / "0.tadm").unlink()
    (out / "1.tadm").unlink()
    (out / "2.tadm").unlink()
    damaged = bytearray((out / "3.tadm").read_bytes())
    damaged[100] ^= 0xFF
    (out / "3.tadm").write_bytes(bytes(damaged))
    untouched = (out / "4.tadm").stat().st_mtime_ns
    lines_before = len((out / "manifest.jsonl").read_text().splitlines())
    with open(out / "manifest.jsonl", "ab") as manifest:
        manifest.write(b'{"input": "torn')  # a job killed mid-line
    assert main(arguments) == 1  # bad.png fails again
    lines = (out / "manifest.jsonl").read_text().splitlines()
    redone = [json.loads(line) for line in lines[lines_before:] if line.startswith("{") and line.endswith("}")]
    assert sorted(Path(r["input"]).name for r in redone) == ["0.png", "1.png", "2.png", "3.png", "bad.png"]
    assert (out / "4.tadm").stat().st_mtime_ns == untouched
    assert all(records(out)[f"{i}.png"]["output_sha256"] == sha256(out / f"{i}.tadm") for i in range(5))


def test_the_audit_finds_a_flipped_byte_and_a_missing_file(
    batch: tuple[Path, Path, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = batch
    assert main(["verify", "--manifest", str(out / "manifest.jsonl")]) == 0
    flipped = bytearray((out / "1.tadm").read_bytes())
    flipped[-20] ^= 0x01
    (out / "1.tadm").write_bytes(bytes(flipped))
    (out / "2.tadm").unlink()
    capsys.readouterr()
    assert main(["verify", "--manifest", str(out / "manifest.jsonl")]) == 1
    report = capsys.readouterr().out
    assert f"{out / '1.tadm'}: SHA-256 differs" in report and f"{out / '2.tadm'}: missing" in report
    assert "2 problem(s)" in report


def test_outputs_without_records_are_kept_only_when_identical(batch: tuple[Path, Path, list[str]]) -> None:
    """A job killed after writing an output but before recording it: the rerun accepts the identical
    output without replacing it, and still refuses a different file nobody recorded."""
    _, out, arguments = batch
    (out / "manifest.jsonl").unlink()
    (out / "1.tadm").write_bytes(b"someone else's file")
    untouched = (out / "0.tadm").stat().st_mtime_ns
    assert main(arguments) == 1
    found = records(out)
    assert found["0.png"]["status"] == "ok" and (out / "0.tadm").stat().st_mtime_ns == untouched
    assert found["1.png"]["status"] == "failed" and "exists" in found["1.png"]["error"]
    assert (out / "1.tadm").read_bytes() == b"someone else's file"
    assert sorted(p.name for p in out.iterdir()) == ["0.tadm", "1.tadm", "2.tadm", "3.tadm", "4.tadm", "manifest.jsonl"]


def test_a_model_given_as_a_folder_off_the_search_path_is_recorded(registered_models: Path, tmp_path: Path) -> None:
    """The record's model hash is the encoding model's full SHA-256 (a version 2 file stores its first 8
    bytes), also when the model was named by its folder and no installed model has its name."""
    import shutil

    from tadmcodec_formats import TadmReader

    model = tmp_path / "models" / "elsewhere-16x"
    shutil.copytree(registered_models / "test-16x", model)
    reference = json.loads((model / "backbone.json").read_text())
    reference["path"] = str((registered_models / "tiny-backbone").resolve())
    (model / "backbone.json").write_text(json.dumps(reference))
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(folder / "a.png")
    assert main(["encode", str(folder), "--out-dir", str(out), "--model", str(model), "--quiet"]) == 0
    record = records(out)["a.png"]
    stored = TadmReader(out / "a.tadm").header.model_sha256.hex()
    assert record["status"] == "ok" and record["model"] == "elsewhere-16x"
    assert len(record["model_sha256"]) == 64 and record["model_sha256"].startswith(stored)


def test_max_failures_stops_the_job(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    for name in ("a-bad.png", "b-bad.png"):
        (folder / name).write_bytes(b"not an image")
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(folder / "c.png")
    assert (
        main(["encode", str(folder), "--out-dir", str(out), "--model", "test-16x", "--quiet", "--max-failures", "1"])
        == 1
    )
    assert sorted(Path(r["input"]).name for r in records(out).values()) == ["a-bad.png", "b-bad.png"]
    assert not (out / "c.tadm").exists() and "stopped: too many failures" in capsys.readouterr().out


@pytest.mark.parametrize("limit", ["flag", "pillow"])
def test_a_file_over_the_work_budget_is_refused_and_recorded(
    tmp_path: Path, registered_models: Path, monkeypatch: pytest.MonkeyPatch, limit: str
) -> None:
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    Image.fromarray(np.zeros((1, 700, 3), np.uint8)).save(folder / "thin.png")  # costs whole patch windows
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(folder / "small.png")
    window = 8 * json.loads((registered_models / "test-16x" / "config.json").read_text())["patch_size"]
    budget = 2 * window * window  # the small image's one window fits; the thin one's three do not
    arguments = ["encode", str(folder), "--out-dir", str(out), "--model", "test-16x", "--quiet"]
    if limit == "flag":
        arguments += ["--max-pixels", str(budget)]
    else:  # the default budget is twice Pillow's MAX_IMAGE_PIXELS, read at run time
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", budget // 2)
    assert main(arguments) == 1
    found = records(out)
    assert found["small.png"]["status"] == "ok" and found["thin.png"]["status"] == "failed"
    assert found["thin.png"]["error_type"] == "LimitExceededError" and "700 x 1" in found["thin.png"]["error"]
    assert not (out / "thin.tadm").exists()
    assert main(["decode", str(out / "small.tadm"), str(tmp_path / "a.png"), "--max-pixels", str(budget // 4)]) == 1
    assert main(["decode", str(out / "small.tadm"), str(tmp_path / "b.png"), "--max-pixels", "0"]) == 0
    assert not (tmp_path / "a.png").exists() and (tmp_path / "b.png").is_file()
    thin = tmp_path / "thin.tadm"
    assert main(["encode", str(folder / "thin.png"), str(thin), "--model", "test-16x", "--max-pixels", "0"]) == 0
    one_window = ["--max-pixels", str(window * window)]  # the whole thin image is three windows, a box one
    assert main(["decode", str(thin), str(tmp_path / "c.png"), *one_window]) == 1
    assert main(["decode", str(thin), str(tmp_path / "d.png"), "--box", "0,0,8,1", *one_window]) == 0
    assert not (tmp_path / "c.png").exists() and (tmp_path / "d.png").is_file()


def test_a_second_batch_on_one_folder_is_refused_and_a_stale_lock_is_taken_over(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tadmcodec.batch import batch_lock

    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(folder / "a.png")
    arguments = ["encode", str(folder), "--out-dir", str(out), "--model", "test-16x", "--quiet"]
    with batch_lock(out):  # another batch, running (flock conflicts between open files, even in one process)
        capsys.readouterr()
        assert main(arguments) == 2
        error = capsys.readouterr().err
        assert error.count("\n") == 1 and f"in use by another batch (pid {os.getpid()} on" in error
        assert not (out / "a.tadm").exists() and not (out / "manifest.jsonl").exists()
    assert not (out / ".tadmcodec-batch.lock").exists()  # released and removed
    (out / ".tadmcodec-batch.lock").write_text("999999999 elsewhere\n")  # what a killed batch leaves
    assert main(arguments) == 0 and (out / "a.tadm").is_file()
    assert not (out / ".tadmcodec-batch.lock").exists()


def test_the_ray_engine_without_ray_is_a_clear_error(
    batch: tuple[Path, Path, list[str]], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, arguments = batch
    monkeypatch.setitem(sys.modules, "ray", None)  # as where Ray is not installed: importing it fails
    capsys.readouterr()
    assert main([*arguments, "--overwrite", "--engine", "ray"]) == 2
    assert main(["verify", "--manifest", str(out / "manifest.jsonl"), "--engine", "ray"]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 2 and all("pip install 'tadmcodec[ray]'" in line for line in errors)


def test_an_unexpected_error_fails_only_its_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tadmcodec.api

    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    for name in ("a.png", "b.png", "c.png"):
        Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(folder / name)
    real_encode = tadmcodec.api.encode

    def encode(source: Path, *args: object, **kwargs: object) -> object:
        if Path(source).name == "b.png":
            raise ZeroDivisionError("not one of the library's errors\nsecond line")
        return real_encode(source, *args, **kwargs)

    monkeypatch.setattr(tadmcodec.api, "encode", encode)
    assert main(["encode", str(folder), "--out-dir", str(out), "--model", "test-16x", "--quiet"]) == 1
    found = records(out)
    assert [found[n]["status"] for n in ("a.png", "b.png", "c.png")] == ["ok", "failed", "ok"]
    assert found["b.png"]["error_type"] == "ZeroDivisionError"
    assert found["b.png"]["error"] == "not one of the library's errors"
    assert (out / "a.tadm").is_file() and (out / "c.tadm").is_file() and not (out / "b.tadm").exists()


@pytest.mark.parametrize(
    "damage",
    ["binary", "a text file", "garbage lines in the middle", "a damaged record of a missing output", "empty"],
)
def test_the_audit_refuses_what_is_not_a_manifest(
    batch: tuple[Path, Path, list[str]], damage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = batch
    manifest = out / "manifest.jsonl"
    lines = manifest.read_text().splitlines()
    if damage == "binary":
        manifest.write_bytes(bytes(range(256)) * 4)
    elif damage == "a text file":
        manifest.write_text("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n")
    elif damage == "garbage lines in the middle":
        manifest.write_text("\n".join([lines[0], "not json", "[1,2,3]", '{"status":"ok"}', *lines[1:]]) + "\n")
    elif damage == "a damaged record of a missing output":
        record = json.loads(lines[0])
        Path(record["output"]).unlink()
        manifest.write_text("\n".join([json.dumps(record | {"output_sha256": 7}), *lines[1:]]) + "\n")
    else:
        manifest.write_text("")
    capsys.readouterr()
    assert main(["verify", "--manifest", str(manifest)]) == 1
    printed = capsys.readouterr().out
    assert "DAMAGED" in printed and ": ok" not in printed
    if damage == "garbage lines in the middle":
        assert re.findall(r"manifest\.jsonl:(\d+): not a manifest record", printed) == ["2", "3", "4"]


def test_only_a_torn_last_line_is_forgiven_and_outside_outputs_are_named(
    batch: tuple[Path, Path, list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = batch
    manifest = out / "manifest.jsonl"
    with manifest.open("a") as handle:
        handle.write('{"input": "/x", "outp')  # a job killed mid-line
    assert main(["verify", "--manifest", str(manifest)]) == 0
    outside = tmp_path / "elsewhere.tadm"
    outside.write_bytes(b"x")
    record = {"input": "/y", "output": str(outside), "status": "ok", "output_sha256": "0" * 64}
    manifest.write_text(manifest.read_text() + "\n" + json.dumps(record) + "\n")
    capsys.readouterr()
    assert main(["verify", "--manifest", str(manifest)]) == 1
    assert "outside the manifest's folder" in capsys.readouterr().out
