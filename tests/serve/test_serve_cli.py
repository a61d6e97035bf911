"""`tadmcodec serve` and `tadmcodec iiif-export` from the command line: they start and answer, and bad
arguments are one line with exit status 2 (1 for a file that cannot be exported)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from .conftest import URL_ID
from .live_server import free_port

TADMCODEC = [sys.executable, "-m", "tadmcodec"]


@pytest.mark.slow
def test_serve_starts_on_localhost_and_answers(served: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [*TADMCODEC, "serve", str(served), "--port", str(port)], stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/iiif/3/{URL_ID}/info.json", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and server.poll() is None, "the server did not start"
                time.sleep(0.2)
        assert response.status_code == 200 and response.json()["width"] == 1200
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=20)
    assert f"1 images from {served.resolve()} at http://127.0.0.1:{port}/" in stderr


def test_bad_arguments_are_one_line(tmp_path: Path) -> None:
    missing = subprocess.run([*TADMCODEC, "serve", str(tmp_path / "none")], capture_output=True, text=True)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "not a folder" in missing.stderr
    (tmp_path / "bad.tadm").write_bytes(b"not a tadm file")
    command = [*TADMCODEC, "iiif-export", str(tmp_path / "bad.tadm"), str(tmp_path / "out"), "--base-url", "http://x/"]
    bad = subprocess.run(command, capture_output=True, text=True)
    assert (
        bad.returncode == 1
        and bad.stderr.startswith("tadmcodec iiif-export: bad.tadm: ")
        and bad.stderr.count("\n") == 1
    )
    assert not (tmp_path / "out").exists()
