"""`tadmcodec encode/decode/thumbnail`: single files and batches, flags, atomic outputs, error lines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import tadmcodec
from tadmcodec.cli import main

pytestmark = pytest.mark.usefixtures("registered_models")


@pytest.fixture
def images(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in ("a.png", "b.jpg", "sub/c.png"):
        Image.fromarray(rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)).save(folder / name)
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_encode_decode_single(images: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "a.tadm"
    assert main(["encode", str(images / "a.png"), str(target), "--model", "test-16x", "--quiet"]) == 0
    assert "encoded 1 file(s), 0 failed" in capsys.readouterr().out
    for suffix in ("png", "tif", "jpg", "webp"):
        out = tmp_path / f"a.{suffix}"
        assert main(["decode", str(target), str(out), "--quiet"]) == 0
        assert Image.open(out).size == (56, 40)
    assert main(["decode", str(target), str(tmp_path / "r.png"), "--box", "8,4,28,14", "--quiet"]) == 0
    assert Image.open(tmp_path / "r.png").size == (20, 10)
    assert main(["thumbnail", str(target), str(tmp_path / "t.png")]) == 0
    assert Image.open(tmp_path / "t.png").size == (4, 3)


def test_batches_with_folders_and_globs(images: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["encode", str(images), "--out-dir", str(out), "--model", "test-16x", "--quiet"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.tadm", "b.tadm", "c.tadm", "manifest.jsonl"]
    decoded = tmp_path / "decoded"
    code = main(["decode", str(out / "*.tadm"), "--out-dir", str(decoded), "--format", "png", "--quiet"])
    assert code == 0
    assert sorted(p.name for p in decoded.iterdir()) == ["a.png", "b.png", "c.png", "manifest.jsonl"]


def test_thumbnails_of_a_folder_in_one_process_without_torch(images: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["encode", str(images), "--out-dir", str(out), "--model", "test-16x", "--quiet"]) == 0
    (out / "broken.tadm").write_bytes(b"not a container")
    script = (
        "import sys\nfrom tadmcodec.cli import main\n"
        f"rc = main(['thumbnail', {str(out)!r}, '--out-dir', {str(tmp_path / 'thumbs')!r}, '--format', 'webp'])\n"
        "assert 'torch' not in sys.modules\nsys.exit(rc)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 1 and result.stderr.count("\n") == 1 and "broken.tadm" in result.stderr
    thumbs = sorted((tmp_path / "thumbs").iterdir())
    assert [p.name for p in thumbs] == ["a.webp", "b.webp", "c.webp"]
    for thumb in thumbs:
        with tadmcodec.open(out / f"{thumb.stem}.tadm") as stored:
            expected = np.asarray(stored.thumbnail().convert("RGB"))
        assert np.array_equal(np.asarray(Image.open(thumb).convert("RGB")), expected)  # lossless WebP


def test_existing_outputs_need_a_flag(images: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "a.tadm"
    target.write_bytes(b"keep me")
    args = ["encode", str(images / "a.png"), str(target), "--model", "test-16x", "--quiet"]
    assert main(args) == 1
    assert "exists (use --overwrite or --skip-existing)" in capsys.readouterr().err
    assert target.read_bytes() == b"keep me"
    assert main([*args, "--skip-existing"]) == 0 and target.read_bytes() == b"keep me"
    assert main([*args, "--overwrite"]) == 0 and target.read_bytes() != b"keep me"


def test_never_overwrites_an_input(images: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = images / "a.png"
    before = source.read_bytes()
    code = main(["decode", str(source), str(source), "--overwrite", "--quiet"])
    assert code == 1 and source.read_bytes() == before
    assert "refusing to overwrite the input" in capsys.readouterr().err


def test_errors_are_one_line_and_leave_no_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    damaged = tmp_path / "bad.tadm"
    damaged.write_bytes(b"\x89TADM\r\n\x1a\n\x01\x00\x00" + bytes(30))
    assert main(["decode", str(damaged), str(tmp_path / "out.png"), "--quiet"]) == 1
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "bad.tadm" in error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.tadm"]
    assert main(["decode", str(damaged), str(tmp_path / "out.gif")]) == 2
    assert main(["encode", str(tmp_path / "missing.png"), str(tmp_path / "x.tadm")]) == 1


def test_timestep_map(images: Path, tmp_path: Path) -> None:
    target = tmp_path / "a.tadm"
    main(["encode", str(images / "a.png"), str(target), "--model", "test-16x", "--quiet"])
    code = main(
        [
            "decode",
            str(target),
            str(tmp_path / "a.png"),
            "--timestep-map",
            str(tmp_path / "map.png"),
            "--timestep-scale",
            "0.5",
            "--quiet",
        ]
    )
    assert code == 0 and Image.open(tmp_path / "map.png").size == (56, 40)


def test_a_detail_outside_the_dial_is_a_one_line_error(
    images: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "a.tadm"
    main(["encode", str(images / "a.png"), str(target), "--model", "test-16x", "--quiet"])
    capsys.readouterr()
    with pytest.raises(SystemExit) as stopped:  # the parser checks the domain, before any work
        main(["decode", str(target), str(tmp_path / "a.png"), "--detail", "-1", "--quiet"])
    assert stopped.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "argument --detail: must be a finite number from 0.0 to 2.0, got -1" in error
    assert not (tmp_path / "a.png").exists()
    assert main(["decode", str(target), str(tmp_path / "a.png"), "--detail", "0.5", "--quiet"]) == 0


def test_device_option(images: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--device reaches the model (the GPU job runs the same path with cuda); a missing device is one line."""
    target = tmp_path / "a.tadm"
    encode = ["encode", str(images / "a.png"), str(target), "--model", "test-16x", "--device", "cpu", "--quiet"]
    assert main(encode) == 0
    assert main(["decode", str(target), str(tmp_path / "a.png"), "--device", "cpu", "--quiet"]) == 0
    if not torch.cuda.is_available():
        capsys.readouterr()
        assert main(["decode", str(target), str(tmp_path / "b.png"), "--device", "cuda", "--quiet"]) == 1
        error = capsys.readouterr().err.strip()
        assert len(error.splitlines()) == 1 and "CUDA is not available" in error
        assert not (tmp_path / "b.png").exists()


def test_runtime_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--runtime onnx and torch decode a default model's file alike (within the archival tolerance); a
    model without graphs on --runtime onnx is a one-line error and no file."""
    source = Path(__file__).parents[1] / "quality" / "reference" / "default-16x-r6.tadm"
    decoded = {}
    for runtime in ("onnx", "torch"):
        out = tmp_path / f"{runtime}.png"
        assert main(["decode", str(source), str(out), "--runtime", runtime, "--quiet"]) == 0
        decoded[runtime] = np.asarray(Image.open(out)).astype(int)
    assert np.abs(decoded["onnx"] - decoded["torch"]).max() <= 2
    target = tmp_path / "a.tadm"
    tadmcodec.encode(np.zeros((24, 40, 3), np.uint8), target, model="test-16x")
    capsys.readouterr()
    assert main(["decode", str(target), str(tmp_path / "a.png"), "--runtime", "onnx", "--quiet"]) == 1
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "ships no ONNX graphs" in error
    assert not (tmp_path / "a.png").exists()


def test_first_contact_checks(images: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Errors a newcomer meets come before any model runs, in one line, and say what to do."""
    missing = tmp_path / "no-such-folder" / "a.tadm"
    assert main(["encode", str(images / "a.png"), str(missing), "--model", "test-16x"]) == 2
    assert "the folder" in capsys.readouterr().err and not missing.parent.exists()
    assert main(["encode", str(images / "a.png"), str(tmp_path / "a.tadm"), "--model", "nope"]) == 2
    assert "unknown model 'nope'" in capsys.readouterr().err
    assert (
        main(["encode", str(images / "a.png"), str(tmp_path / "a.tadm"), "--model", "test-16x", "--scale", "32"]) == 2
    )
    assert "rescales by 16, not 32" in capsys.readouterr().err
    target = tmp_path / "a.tadm"
    assert main(["encode", str(images / "a.png"), str(target), "--model", "test-16x", "--quiet"]) == 0
    assert main(["decode", str(target), str(tmp_path / "r.png"), "--box", "-5,0,10,10", "--quiet"]) == 1
    assert "0 <= left < right <= 56" in capsys.readouterr().err


def test_strip_metadata_and_the_metadata_share(
    images: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "meta.png"
    Image.open(images / "a.png").save(source, icc_profile=b"\0" * 3000)
    assert main(["encode", str(source), str(tmp_path / "kept.tadm"), "--model", "test-16x", "--quiet"]) == 0
    assert "without 3012 bytes of metadata" in capsys.readouterr().out
    assert (
        main(["encode", str(source), str(tmp_path / "bare.tadm"), "--model", "test-16x", "--quiet", "--strip-metadata"])
        == 0
    )
    assert "without 0 bytes of metadata" in capsys.readouterr().out
    assert (tmp_path / "kept.tadm").stat().st_size - (tmp_path / "bare.tadm").stat().st_size == 3012


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["decode", "a.tadm", "b.png", "--timestep", "5000"], "--timestep: must be from 0 to 999, got 5000"),
        (["decode", "a.tadm", "b.png", "--timestep-scale", "inf"], "--timestep-scale: must be a finite number"),
        (["decode", "a.tadm", "b.png", "--timestep-scale", "-1"], "--timestep-scale: must be a finite number"),
        (["encode", "a.png", "--out-dir", "o", "--max-failures", "-1"], "--max-failures: must be 0 or more"),
        (["thumbnail", "a.tadm", "b.png", "--size", "-5"], "--size: must be 1 or more, got -5"),
        (["thumbnail", "a.tadm", "b.png", "--size", "0"], "--size: must be 1 or more, got 0"),
        (["decode", "a.tadm", "b.png", "--threads", "x"], "--threads: must be an integer, got 'x'"),
    ],
)
def test_option_domains_are_checked_in_the_parser(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(arguments)
    assert stopped.value.code == 2 and message in capsys.readouterr().err


def test_the_api_refuses_a_timestep_dial_outside_its_domain(images: Path, tmp_path: Path) -> None:
    from tadmcodec.errors import TadmError

    target = tmp_path / "a.tadm"
    tadmcodec.encode(images / "a.png", target, model="test-16x")
    for options in ({"timestep_scale": float("nan")}, {"timestep_scale": -1.0}, {"timestep": 1000}):
        with pytest.raises(TadmError, match="use"):
            tadmcodec.decode(target, **options)


def test_a_timestep_map_follows_the_output_rule(
    images: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "a.tadm"
    main(["encode", str(images / "a.png"), str(target), "--model", "test-16x", "--quiet"])
    keep = tmp_path / "keep.png"
    keep.write_text("KEEP")
    out = str(tmp_path / "out.png")
    capsys.readouterr()
    assert main(["decode", str(target), out, "--timestep-map", str(keep), "--quiet"]) == 2
    assert keep.read_text() == "KEEP" and not Path(out).exists()  # refused before any work
    assert main(["decode", str(target), out, "--timestep-map", out, "--quiet"]) == 2
    assert main(["decode", str(target), out, "--timestep-map", str(tmp_path / "map"), "--quiet"]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 3 and "exists" in errors[0] and "own output" in errors[1] and "extension" in errors[2]
    assert not Path(out).exists()
    assert main(["decode", str(target), out, "--timestep-map", str(keep), "--quiet", "--overwrite"]) == 0
    assert Image.open(keep).size == Image.open(out).size


def test_a_folder_is_never_an_output(images: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "d1"
    folder.mkdir()
    assert main(["encode", str(images / "a.png"), str(folder), "--model", "test-16x", "--quiet", "--overwrite"]) == 1
    assert "d1 is a folder" in capsys.readouterr().err
    assert list(tmp_path.glob(".*part")) == [] and list(folder.iterdir()) == []


@pytest.mark.slow
def test_two_writers_to_one_new_path_one_wins(images: Path, tmp_path: Path) -> None:
    target = tmp_path / "race.tadm"
    command = [
        sys.executable,
        "-m",
        "tadmcodec",
        "encode",
        str(images / "a.png"),
        str(target),
        "--model",
        "test-16x",
        "--quiet",
    ]
    runs = [subprocess.Popen(command, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [(run.wait(), run.stderr.read()) for run in runs]
    assert sorted(code for code, _ in results) == [0, 1, 1]
    assert all("exists" in error for code, error in results if code)
    assert tadmcodec_reads(target)


def tadmcodec_reads(path: Path) -> bool:
    from tadmcodec_formats import TadmReader

    with TadmReader(path) as reader:
        reader.verify()
    return True
