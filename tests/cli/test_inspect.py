"""`tadmcodec info`, `verify` and `recode`: output, exit codes, and no torch import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tadmcodec.cli import main
from tadmcodec_formats import LRCodec, read_tadm
from tests.conftest import make_container


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    good, _ = make_container(width=300, height=200)
    damaged = bytearray(good)
    damaged[len(damaged) // 2] ^= 0x55
    paths = {"good": tmp_path / "good.tadm", "damaged": tmp_path / "damaged.tadm", "trailing": tmp_path / "t.tadm"}
    paths["good"].write_bytes(good)
    paths["damaged"].write_bytes(bytes(damaged))
    paths["trailing"].write_bytes(good + b"junk")
    return paths


def test_info_json(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(files["good"]), "--json"]) == 0
    (summary,) = json.loads(capsys.readouterr().out)
    assert summary["width"] == 300 and summary["height"] == 200 and summary["scale"] == 16
    assert summary["model_id"] == "test-model"
    assert summary["patch_grid"]["cols"] >= 1


def test_info_text_and_error_line(files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.tadm"
    assert main(["info", str(files["good"]), str(missing)]) == 1
    captured = capsys.readouterr()
    assert "300x200 RGB, 16x" in captured.out
    assert captured.err.strip().count("\n") == 0 and "missing.tadm" in captured.err


def test_verify_reports_each_file(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(files["good"])]) == 0
    assert capsys.readouterr().out.strip().endswith(": ok (structure only: model 'test-model' is not installed here)")
    assert main(["verify", "--model-check", str(files["good"])]) == 1  # the model it names must be there
    assert "DAMAGED: UnknownModelError" in capsys.readouterr().out
    assert main(["verify", *(str(p) for p in files.values())]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert ": ok" in lines[0]
    assert "DAMAGED" in lines[1] and "offset" in lines[1]
    assert "DAMAGED" in lines[2] and "trailing" in lines[2]


def test_many_files_in_one_process_without_torch(files: dict[str, Path]) -> None:
    paths = [str(files["good"])] * 200
    script = (
        "import sys\nfrom tadmcodec.cli import main\n"
        f"rc = main(['verify', *{paths!r}])\n"
        "assert 'torch' not in sys.modules\nsys.exit(rc)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(": ok") == 200


def test_module_entry_point(files: dict[str, Path]) -> None:
    result = subprocess.run([sys.executable, "-m", "tadmcodec", "verify", str(files["damaged"])], capture_output=True)
    assert result.returncode == 1


def test_a_closed_pipe_is_no_traceback(tmp_path: Path) -> None:
    """`tadmcodec info MANY | head -1`: the reader leaves early; the command stops without a traceback."""
    files = []
    for index in range(200):
        path = tmp_path / f"{index}.tadm"
        path.write_bytes(make_container(width=40, height=20, scale=16)[0])
        files.append(str(path))
    command = f"{sys.executable} -m tadmcodec info {' '.join(files)} | head -1"
    result = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=120)
    assert result.stdout.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]


def test_recode_between_versions_keeps_the_content(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, _ = make_container(width=300, height=200, version=1, lr_codec=LRCodec.ZSTD_PREDICTIVE)
    (tmp_path / "v1.tadm").write_bytes(old)
    assert main(["recode", str(tmp_path / "v1.tadm"), str(tmp_path / "v2.tadm")]) == 0
    assert (
        f"v2.tadm: TADM 2.0, {(tmp_path / 'v2.tadm').stat().st_size} bytes ({len(old)} before)"
        in capsys.readouterr().out
    )
    before, after = read_tadm(old), read_tadm(tmp_path / "v2.tadm")
    assert after.version == (2, 0) and np.array_equal(after.lr, before.lr) and after.patches == before.patches
    assert main(["recode", str(tmp_path / "v1.tadm"), str(tmp_path / "v2.tadm")]) == 1  # never replaces silently
    assert "exists (--overwrite replaces it)" in capsys.readouterr().err
    assert main(["recode", str(tmp_path / "v2.tadm"), str(tmp_path / "back.tadm"), "--format-version", "1"]) == 1
    assert "full SHA-256" in capsys.readouterr().err  # a version 2 file keeps 8 bytes of the model hash
    assert not (tmp_path / "back.tadm").exists()


def test_recode_refuses_a_damaged_file_and_writes_nothing(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["recode", str(files["trailing"]), str(tmp_path / "out.tadm")]) == 1
    assert "trailing data" in capsys.readouterr().err
    assert not (tmp_path / "out.tadm").exists()
