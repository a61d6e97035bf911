"""The plain install, without torch (issue 34): a wheel built from this checkout, installed into a fresh
virtual environment with its dependencies from the package index, decodes the reference file to the
pixels recorded for it on ONNX Runtime at release, and refuses encoding in one line naming the extra."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "quality" / "reference" / "default-16x-r10.tadm"
RECORDED = REFERENCE.with_suffix(".onnx.png")  # its ONNX Runtime decode, recorded at release
LIGHT_INSTALL_MB = 300
VENV_OWN = ("pip", "setuptools", "pkg_resources", "_distutils_hack", "distutils-precedence")


@pytest.mark.slow
def test_the_plain_install_decodes_without_torch_and_refuses_to_encode(tmp_path: Path) -> None:
    wheels, env = tmp_path / "wheels", tmp_path / "env"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(ROOT)], check=True)
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
    python = env / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "-q", *map(str, wheels.glob("*.whl"))], check=True)
    script = (
        "import importlib.util, json, sys, numpy as np, tadmcodec; "
        f"np.save(sys.argv[1], tadmcodec.decode({str(REFERENCE)!r}, as_array=True)); "
        "print(json.dumps({'torch': importlib.util.find_spec('torch') is not None}))"
    )
    found = subprocess.run([python, "-c", script, str(tmp_path / "decoded.npy")], capture_output=True, text=True)
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout) == {"torch": False}
    assert np.array_equal(np.load(tmp_path / "decoded.npy"), np.asarray(Image.open(RECORDED)))
    encode = subprocess.run(
        [
            env / "bin" / "tadmcodec",
            "encode",
            str(ROOT / "tadmcodec" / "samples" / "chelsea.png"),
            str(tmp_path / "x.tadm"),
        ],
        capture_output=True,
        text=True,
    )
    assert encode.returncode == 2 and not (tmp_path / "x.tadm").exists()
    assert encode.stderr.strip() == (
        "tadmcodec encode: encoding needs torch, which is not installed: pip install 'tadmcodec[torch]'"
    )
    site = next((env / "lib").glob("python*/site-packages"))
    installed = [p for p in site.iterdir() if not p.name.startswith(VENV_OWN)]  # not what the install added
    megabytes = sum(f.stat().st_size for p in installed for f in [p, *p.rglob("*")] if f.is_file()) / 2**20
    assert megabytes <= LIGHT_INSTALL_MB, megabytes
