"""The deep-zoom viewer in a real browser: Debian's chromium driven by playwright opens /view/{id}, zooms
to full resolution and waits until every tile has loaded, with no failed tile; a full-zoom tile the
viewer asked for equals `tadmcodec decode --box` of its box. Saves a screenshot (docs/serve-viewer.png
when TADMCODEC_SCREENSHOT names it)."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tadmcodec.serve import TadmLibrary, create_app

from .conftest import URL_ID
from .live_server import live_server

CHROMIUM = Path("/usr/bin/chromium")
TILE = re.compile(r"/iiif/3/[^/]+/(\d+),(\d+),(\d+),(\d+)/([^/]+)/0/default\.jpg$")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install chromium"),
]

FULLY_LOADED = """() => new Promise(resolve => {
  const item = window.viewer.world.getItemAt(0);
  if (item && item.getFullyLoaded()) { resolve(true); return; }
  const wait = () => { const i = window.viewer.world.getItemAt(0);
    if (i && i.getFullyLoaded()) resolve(true); else setTimeout(wait, 100); };
  wait();
})"""


def test_the_viewer_loads_every_tile_at_full_zoom(served: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    failures: list[str] = []
    tiles: list[str] = []
    with live_server(create_app(TadmLibrary(served))) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 900, "height": 600})
        page.on("requestfailed", lambda request: failures.append(f"failed {request.url}"))
        page.on("response", lambda r: failures.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.on("response", lambda r: tiles.append(r.url) if TILE.search(r.url) else None)
        page.goto(f"http://{server}/view/{URL_ID}")
        page.wait_for_function("() => window.viewer && window.viewer.world.getItemCount() === 1", timeout=30_000)
        page.evaluate(FULLY_LOADED)
        page.evaluate(
            "() => { const v = window.viewer.viewport;"
            " v.zoomTo(v.imageToViewportZoom(1.0), v.imageToViewportCoordinates(700, 500), true); }"
        )
        page.wait_for_timeout(500)  # let the viewer ask for the new level's tiles
        page.evaluate(FULLY_LOADED)
        page.screenshot(path=os.environ.get("TADMCODEC_SCREENSHOT", str(tmp_path / "viewer.png")))
        full_zoom = [url for url in tiles if TILE.search(url) and _is_full_resolution(TILE.search(url))]
        assert full_zoom, tiles
        tile_url = full_zoom[-1]
        png = page.request.get(tile_url.replace("default.jpg", "default.png"))
        assert png.status == 200
        served_pixels = np.asarray(Image.open(io.BytesIO(png.body())))
        browser.close()
    assert failures == []
    x, y, w, h = (int(v) for v in TILE.search(tile_url).groups()[:4])
    out = tmp_path / "box.png"
    command = [sys.executable, "-m", "tadmcodec", "decode", str(served / "cats" / "chelsea.tadm"), str(out)]
    subprocess.run([*command, "--box", f"{x},{y},{x + w},{y + h}", "--quiet"], check=True)
    assert np.array_equal(served_pixels, np.asarray(Image.open(out)))


def _is_full_resolution(match: re.Match[str]) -> bool:
    """A tile whose size is its region's: width `w,` or `w,h` equal to the region's."""
    width = int(match.group(5).lstrip("^").split(",")[0] or 0)
    return width == int(match.group(3))
