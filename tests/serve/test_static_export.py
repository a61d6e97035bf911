"""`tadmcodec iiif-export`: a level-0 folder whose every file holds the bytes the level-2 server gives for
the same URL, with the LR levels made without the model, written atomically."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tadmcodec.errors import OutputExistsError
from tadmcodec.serve import TadmLibrary, create_app
from tadmcodec.serve.static_export import export_level0

from .conftest import URL_ID


@pytest.mark.slow
def test_every_exported_file_is_what_the_server_serves(served: Path, tmp_path: Path) -> None:
    out = tmp_path / "chelsea"
    command = [sys.executable, "-m", "tadmcodec", "iiif-export", str(served / "cats" / "chelsea.tadm"), str(out)]
    subprocess.run([*command, "--base-url", "https://example.org/iiif/chelsea", "--quiet"], check=True)
    info = json.loads((out / "info.json").read_text())
    assert (info["id"], info["profile"], info["width"], info["height"]) == (
        "https://example.org/iiif/chelsea",
        "level0",
        1200,
        800,
    )
    assert info["tiles"] == [{"width": 512, "scaleFactors": [1, 2, 4]}] and "extraFormats" not in info
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.jpg"))
    full_zoom = [(x, y, min(512, 1200 - x), min(512, 800 - y)) for y in (0, 512) for x in (0, 512, 1024)]
    expected = [f"{x},{y},{w},{h}/{w},{h}/0/default.jpg" for x, y, w, h in full_zoom]
    expected += ["0,0,1024,800/512,400/0/default.jpg", "1024,0,176,800/88,400/0/default.jpg"]  # factor 2
    expected += ["full/300,200/0/default.jpg", "full/75,50/0/default.jpg"]  # factor 4 and the LR itself
    assert files == sorted(expected)
    client = TestClient(create_app(TadmLibrary(served)))
    for name in files:
        response = client.get(f"/iiif/3/{URL_ID}/{name}")
        assert response.status_code == 200 and response.content == (out / name).read_bytes(), name


def test_an_existing_folder_is_kept_without_overwrite(served: Path, tmp_path: Path) -> None:
    out = tmp_path / "x"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(OutputExistsError):
        export_level0(served / "cats" / "chelsea.tadm", out, "https://example.org/x")
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["x"]  # no staging folder left behind
