"""Data safety of every command that writes: existing files and dangling links are kept without
--overwrite, SIGTERM and SIGHUP clean up like Ctrl-C, and temporaries a killed run left are removed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import tadmcodec
from tadmcodec.cli import main
from tadmcodec.io.tiff_output import PYRAMID_PREFIX
from tadmcodec_formats.atomic import AtomicFile, remove_stale

pytestmark = pytest.mark.usefixtures("registered_models")


@pytest.fixture
def encoded(tmp_path: Path) -> Path:
    target = tmp_path / "in.tadm"
    pixels = np.random.default_rng(0).integers(0, 256, (600, 64, 3), dtype=np.uint8)
    tadmcodec.encode(Image.fromarray(pixels), target, model="test-16x")
    return target


def test_thumbnail_keeps_an_existing_file(encoded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    precious = tmp_path / "precious.png"
    precious.write_bytes(b"keep me")
    assert main(["thumbnail", str(encoded), str(precious)]) == 1
    assert precious.read_bytes() == b"keep me" and "--overwrite" in capsys.readouterr().err
    assert main(["thumbnail", str(encoded), str(precious), "--skip-existing"]) == 0
    assert precious.read_bytes() == b"keep me"
    assert main(["thumbnail", str(encoded), str(precious), "--overwrite"]) == 0
    assert Image.open(precious).size == (4, 38)


@pytest.mark.parametrize("command", ["thumbnail", "decode"])
def test_a_dangling_link_is_an_existing_output(command: str, encoded: Path, tmp_path: Path) -> None:
    link = tmp_path / "out.png"
    link.symlink_to(tmp_path / "nowhere.png")
    assert main([command, str(encoded), str(link), *(["--quiet"] if command == "decode" else [])]) == 1
    assert link.is_symlink() and not (tmp_path / "nowhere.png").exists()


STALLED_DECODE = (
    "import sys, time\n"
    "from tadmcodec.pipeline import patch_renderer as d\n"
    "blocks = d.PatchRenderer.blocks\n"
    "def slow_blocks(self, *args, **kwargs):\n"
    "    for item in blocks(self, *args, **kwargs):\n"
    "        yield item; print('started', flush=True); time.sleep(60)\n"
    "d.PatchRenderer.blocks = slow_blocks\n"
    "from tadmcodec.cli import main\n"
    "sys.exit(main(['decode', sys.argv[1], sys.argv[2]]))\n"
)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP])
def test_termination_leaves_no_output_and_no_temporaries(stop: signal.Signals, encoded: Path, tmp_path: Path) -> None:
    """After the first BigTIFF tile was written (a .part file and the spooled pyramid levels exist)."""
    process = subprocess.Popen(
        [sys.executable, "-c", STALLED_DECODE, str(encoded), str(tmp_path / "out.tif")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == "started", process.communicate()[1]
    assert len(list(tmp_path.iterdir())) > 1  # the temporaries are there
    process.send_signal(stop)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + stop and f"stopped by {stop.name}" in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tadm"]


def test_temporaries_of_a_killed_run_are_removed_by_the_next(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".out.png.{int(dead.stdout)}-0123456789ab.part"
    stale.write_bytes(b"half a file")
    stale_levels = tmp_path / f".tadm-pyramid-{int(dead.stdout)}-xyz"
    stale_levels.mkdir()
    (stale_levels / "level1.raw").write_bytes(b"rows")
    live = tmp_path / f".out.png.{os.getpid()}-0123456789ab.part"  # a writer still running: kept
    live.write_bytes(b"in progress")
    with AtomicFile(tmp_path / "out.png") as target:
        target.file.write(b"png")
    assert not stale.exists() and live.exists() and (tmp_path / "out.png").read_bytes() == b"png"
    remove_stale(tmp_path, PYRAMID_PREFIX)
    assert not stale_levels.exists()


def test_writing_many_files_into_one_folder_lists_it_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    listings = []
    real_scandir = os.scandir
    monkeypatch.setattr(os, "scandir", lambda path: listings.append(path) or real_scandir(path))
    for index in range(200):
        with AtomicFile(tmp_path / f"{index}.png") as target:
            target.file.write(b"png")
    assert len(listings) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{i}.png" for i in range(200))
