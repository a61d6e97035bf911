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
from typing import Any

import numpy as np
import pytest
from PIL import Image
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from tadmcodec.serve import TadmLibrary, create_app
from tadmcodec.serve.static_export import export_level0
from tadmcodec.serve.viewer import STATIC, viewer_page

from .conftest import URL_ID
from .live_server import live_server

CHROMIUM = Path("/usr/bin/chromium")
TILE = re.compile(r"/(\d+),(\d+),(\d+),(\d+)/([^/]+)/0/default\.jpg$")
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


def watch(page: Any, failures: list[str], tiles: list[str]) -> None:
    """Record failed requests and error responses into `failures`, and tile URLs into `tiles`."""
    page.on("requestfailed", lambda request: failures.append(f"failed {request.url}"))
    page.on("response", lambda r: failures.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on("response", lambda r: tiles.append(r.url) if TILE.search(r.url) else None)


def zoom_to_full_resolution(page: Any, url: str) -> None:
    """Open a viewer page, wait until its first view has loaded, zoom to one screen pixel per image pixel
    and wait until every tile of that view has loaded."""
    page.goto(url)
    page.wait_for_function("() => window.viewer && window.viewer.world.getItemCount() === 1", timeout=30_000)
    page.evaluate(FULLY_LOADED)
    page.evaluate(
        "() => { const v = window.viewer.viewport;"
        " v.zoomTo(v.imageToViewportZoom(1.0), v.imageToViewportCoordinates(700, 500), true); }"
    )
    page.wait_for_timeout(500)  # let the viewer ask for the new level's tiles
    page.evaluate(FULLY_LOADED)


def test_the_viewer_loads_every_tile_at_full_zoom(served: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    failures: list[str] = []
    tiles: list[str] = []
    with live_server(create_app(TadmLibrary(served))) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 900, "height": 600})
        watch(page, failures, tiles)
        zoom_to_full_resolution(page, f"http://{server}/view/{URL_ID}")
        page.screenshot(path=os.environ.get("TADMCODEC_SCREENSHOT", str(tmp_path / "viewer.png")))
        full_zoom = [url for url in tiles if _is_full_resolution(TILE.search(url))]
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


def test_a_static_level0_export_loads_in_the_viewer(served: Path, tmp_path: Path) -> None:
    """The export, under a plain static file server, is all a viewer needs down to full zoom."""
    from playwright.sync_api import sync_playwright

    page_html = viewer_page("chelsea", "/chelsea/info.json").replace("..", "")
    (tmp_path / "site").mkdir()
    app = Starlette(
        routes=[
            Route("/view", lambda request: HTMLResponse(page_html)),
            Mount("/static", StaticFiles(directory=STATIC)),
            Mount("/", StaticFiles(directory=tmp_path / "site")),
        ]
    )
    failures: list[str] = []
    tiles: list[str] = []
    with live_server(app) as server, sync_playwright() as playwright:
        export_level0(served / "cats" / "chelsea.tadm", tmp_path / "site" / "chelsea", f"http://{server}/chelsea")
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 900, "height": 600})
        watch(page, failures, tiles)
        zoom_to_full_resolution(page, f"http://{server}/view")
        browser.close()
    assert failures == []
    assert any(_is_full_resolution(TILE.search(url)) for url in tiles), tiles


def _is_full_resolution(match: re.Match[str] | None) -> bool:
    """A tile whose size is its region's: width `w,` or `w,h` equal to the region's."""
    if match is None or match.group(5) in ("max", "full"):
        return match is not None
    return int(match.group(5).split(",")[0]) == int(match.group(3))
