"""`tadmcodec eval`: per-image records, resuming, CompressAI-style JSON, summary, plot and pictures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tadmcodec.cli import main

pytestmark = pytest.mark.usefixtures("registered_models")


def _folder(root: Path) -> Path:
    folder = root / "set"
    folder.mkdir()
    rng = np.random.default_rng(0)
    # One stem, two files; large enough that AVIF's container fits within the 16x file's bytes.
    for name, (height, width) in [("image0.png", (256, 320)), ("image0.webp", (96, 200))]:
        yy, xx = np.mgrid[:height, :width]
        base = np.stack([xx * 1.5, yy * 2, (xx + yy) % 256], -1) + rng.normal(0, 10, (height, width, 3))
        Image.fromarray(np.clip(base, 0, 255).astype(np.uint8)).save(folder / name, lossless=True)
    return folder


@pytest.mark.eval
def test_eval_writes_records_reports_and_resumes(tmp_path: Path) -> None:
    folder, out = _folder(tmp_path), tmp_path / "results"
    arguments = [
        "eval",
        str(folder),
        "--scale",
        "16",
        "32",
        "--out",
        str(out),
        "--model-16",
        "test-16x",
        "--model-32",
        "test-32x",
        "--ssimulacra2-limit",
        "1",
        "--pictures",
        "1",
        "--previous-16",
        "test-16x",
    ]
    assert main(arguments) == 0
    records = sorted((out / "images" / "set").glob("*.json"))
    assert [p.name for p in records] == [f"image0.{ext}-{s}x.json" for ext in ("png", "webp") for s in (16, 32)]
    record = json.loads(records[0].read_text())
    tadm = record["methods"]["tadmcodec"]
    assert tadm["bpp"] == pytest.approx(8 * tadm["bytes"] / (256 * 320))
    assert 0 < tadm["psnr"] < 60 and "ssimulacra2" in tadm and tadm["decode_s_per_mp"] > 0
    assert "ssimulacra2" not in json.loads(records[2].read_text())["methods"]["tadmcodec"]  # limit 1
    for codec in ("jpeg", "webp", "avif", "jpegxl"):
        entry = record["methods"][codec]
        assert entry.get("smallest_bytes", 0) > tadm["bytes"] or (entry["bytes"] <= tadm["bytes"] and "psnr" in entry)
    pipeline = record["methods"]["avif-rescaled"]  # the standard pipeline fits where AVIF alone may not
    assert pipeline["bytes"] <= tadm["bytes"] and pipeline["factor"] in (1, 2, 4, 8)
    avif = record["methods"]["avif"]
    assert "psnr_y" not in avif or pipeline["psnr_y"] >= avif["psnr_y"] - 1e-9  # factor 1 is one of its choices
    for entry in (tadm, record["methods"]["bicubic"], pipeline):
        assert entry["detail_ratio"] >= 0 and "grid_excess" in entry
    assert record["methods"]["bicubic"]["detail_ratio"] < 0.5  # 16x rescaling is a blur
    assert record["methods"]["tadmcodec-previous"]["psnr"] == tadm["psnr"]  # the same model twice here
    assert "tadmcodec-previous" not in json.loads(records[1].read_text())["methods"]  # no --previous-32
    curve = json.loads((out / "set-tadmcodec.json").read_text())
    assert curve["name"] == "tadmcodec" and len(curve["results"]["bpp"]) == 2
    assert curve["results"]["bpp"][0] < curve["results"]["bpp"][1]  # 32x then 16x
    summary = (out / "summary.md").read_text()
    assert "### set, 16x (2 images)" in summary and "| bicubic |" in summary and "LPIPS" in summary
    table = [line for line in summary.splitlines() if line.startswith("|")]
    assert len({line.count("|") for line in table}) == 1 and "| detail ratio |" in table[0]  # a cell per column
    assert (out / "rate-quality.png").stat().st_size > 10_000
    assert sorted(p.name for p in (out / "pictures" / "set").iterdir()) == ["image0.png-16x.jpg", "image0.png-32x.jpg"]
    with Image.open(out / "pictures" / "set" / "image0.png-16x.jpg") as picture:
        assert picture.size == (7 * 256, 256 + 18)  # panels of a 256-pixel crop, with the previous release's
    with Image.open(out / "pictures" / "set" / "image0.png-32x.jpg") as picture:
        assert picture.size == (6 * 256, 256 + 18)  # no --previous-32

    before = {p: p.stat().st_mtime_ns for p in records}
    records[1].unlink()
    assert main(arguments) == 0
    assert records[1].exists() and all(p.stat().st_mtime_ns == before[p] for p in records if p != records[1])


def test_eval_refuses_a_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", str(tmp_path / "nope"), "--out", str(tmp_path / "r")]) == 2
    assert "not a folder" in capsys.readouterr().err
