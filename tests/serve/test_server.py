"""The IIIF server over .tadm files: what it advertises, which requests the stored LR answers without
the model, exact region decodes, coalescing and caching, conditional requests, CORS, back-pressure,
and identifiers that try to leave the served folder."""

from __future__ import annotations

import asyncio
import io
import os
import threading
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image
from starlette.testclient import TestClient

import tadmcodec
from tadmcodec.pipeline.texture_stage import TexturedRenderer
from tadmcodec.serve import Limits, ServerSettings, TadmLibrary, create_app

from .conftest import IDENTIFIER, URL_ID
from .plain_library import PlainImage, PlainLibrary


@pytest.fixture
def client(served: Path) -> TestClient:
    return TestClient(create_app(TadmLibrary(served)))


def pixels(response: httpx.Response) -> np.ndarray:
    assert response.status_code == 200, response.text
    return np.asarray(Image.open(io.BytesIO(response.content)))


def test_info_json_advertises_level_2_the_lr_sizes_and_tiles(client: TestClient) -> None:
    response = client.get(f"/iiif/3/{URL_ID}/info.json")
    info = response.json()
    assert response.headers["content-type"] == "application/json"
    assert info["id"] == f"http://testserver/iiif/3/{URL_ID}" and info["type"] == "ImageService3"
    assert (info["profile"], info["width"], info["height"]) == ("level2", 1200, 800)
    assert info["sizes"] == [{"width": 75, "height": 50}]  # the 16x LR (its halvings stop at 64 px)
    assert info["tiles"] == [{"width": 512, "scaleFactors": [1, 2, 4]}]
    assert info["maxArea"] == 2 * Image.MAX_IMAGE_PIXELS and info["extraFormats"] == ["webp"]
    ld = client.get(f"/iiif/3/{URL_ID}/info.json", headers={"Accept": "application/ld+json"})
    assert ld.headers["content-type"].startswith("application/ld+json;profile=")
    redirect = client.get(f"/iiif/3/{URL_ID}", follow_redirects=False)
    assert redirect.status_code == 303 and redirect.headers["location"] == info["id"] + "/info.json"


def test_base_url_setting_names_the_public_address(served: Path) -> None:
    client = TestClient(create_app(TadmLibrary(served), ServerSettings(base_url="https://images.example.org/")))
    assert client.get(f"/iiif/3/{URL_ID}/info.json").json()["id"] == f"https://images.example.org/iiif/3/{URL_ID}"


def test_lr_sizes_come_from_the_stored_lr_without_the_model(served: Path, client: TestClient) -> None:
    with tadmcodec.open(served / "cats" / "chelsea.tadm") as file:
        lr = np.asarray(file.thumbnail())
    exact = client.get(f"/iiif/3/{URL_ID}/full/75,50/0/default.png")
    assert np.array_equal(pixels(exact), lr) and exact.headers["x-served-from"] == "lr"
    for request in ("full/300,/0/default.jpg", "0,0,512,512/128,/0/gray.png", "full/!200,200/90/default.webp"):
        response = client.get(f"/iiif/3/{URL_ID}/{request}")
        assert response.status_code == 200 and response.headers["x-served-from"] == "lr", request
    assert client.app.state.iiif.pool.decodes == 0


def test_full_zoom_tiles_are_exact_region_decodes(served: Path, client: TestClient) -> None:
    with tadmcodec.open(served / "cats" / "chelsea.tadm") as file:
        expected = np.asarray(file.decode((512, 512, 1024, 800)))
    tile = client.get(f"/iiif/3/{URL_ID}/512,512,512,288/512,/0/default.png")
    assert tile.headers["x-served-from"] == "decode" and np.array_equal(pixels(tile), expected)
    mirrored = pixels(client.get(f"/iiif/3/{URL_ID}/512,512,512,288/max/!90/default.png"))
    assert np.array_equal(mirrored, np.rot90(expected[:, ::-1], k=-1))  # mirror, then 90 degrees clockwise
    gray = pixels(client.get(f"/iiif/3/{URL_ID}/512,512,512,288/max/0/gray.png"))
    assert gray.shape == (288, 512)
    assert client.app.state.iiif.pool.decodes == 1  # the region was decoded once, then cached


def test_identical_concurrent_requests_share_one_decode(served: Path) -> None:
    app = create_app(TadmLibrary(served), ServerSettings(workers=2, cache_mb=0))  # no cache: only sharing

    async def burst() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            url = f"/iiif/3/{URL_ID}/0,0,512,512/512,/0/default.jpg"
            return await asyncio.gather(*(client.get(url) for _ in range(8)))

    responses = asyncio.run(burst())
    assert [r.status_code for r in responses] == [200] * 8
    assert len({r.content for r in responses}) == 1 and app.state.iiif.pool.decodes == 1


def test_etags_and_conditional_requests(served: Path, client: TestClient) -> None:
    url = f"/iiif/3/{URL_ID}/full/300,/0/default.jpg"
    first = client.get(url)
    tag = first.headers["etag"]
    assert first.headers["cache-control"].startswith("public, max-age=")
    again = client.get(url, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    assert client.get(f"/iiif/3/{URL_ID}/full/301,/0/default.jpg").headers["etag"] != tag
    info = client.get(f"/iiif/3/{URL_ID}/info.json")
    assert client.get(f"/iiif/3/{URL_ID}/info.json", headers={"If-None-Match": info.headers["etag"]}).status_code == 304


def test_a_changed_file_changes_its_etag(served: Path, tmp_path: Path) -> None:
    (tmp_path / "a.tadm").write_bytes((served / "cats" / "chelsea.tadm").read_bytes())
    client = TestClient(create_app(TadmLibrary(tmp_path)))
    before = client.get("/iiif/3/a/full/75,/0/default.jpg").headers["etag"]
    os.replace(served / "cats" / "chelsea.tadm", served / "cats" / "moved.tadm")
    try:
        tadmcodec.encode(np.zeros((64, 64, 3), np.uint8), tmp_path / "a.tadm", scale=16)
    finally:
        os.replace(served / "cats" / "moved.tadm", served / "cats" / "chelsea.tadm")
    after = client.get("/iiif/3/a/full/4,/0/default.jpg")
    assert after.status_code == 200 and after.headers["etag"].split("-")[0] != before.split("-")[0]


def test_cors_headers(client: TestClient) -> None:
    response = client.get(f"/iiif/3/{URL_ID}/info.json", headers={"Origin": "https://viewer.example.org"})
    assert response.headers["access-control-allow-origin"] == "*"
    preflight = client.options(
        f"/iiif/3/{URL_ID}/info.json",
        headers={"Origin": "https://viewer.example.org", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 200 and "GET" in preflight.headers["access-control-allow-methods"]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"/iiif/3/{URL_ID}/full/max/0/default.jpeg", 400),
        (f"/iiif/3/{URL_ID}/full/max/0/default.gif", 501),
        (f"/iiif/3/{URL_ID}/full/max/45/default.jpg", 501),
        (f"/iiif/3/{URL_ID}/0,0,0,0/max/0/default.jpg", 400),
        (f"/iiif/3/{URL_ID}/full/2000,/0/default.jpg", 400),
        (f"/iiif/3/{URL_ID}/full/max/0/sepia.jpg", 400),
        (f"/iiif/3/{URL_ID}/full/max/0", 404),
        ("/iiif/3/cats/chelsea/info.json", 404),  # an unencoded slash is not part of an identifier
        ("/iiif/3/nothing/info.json", 404),
    ],
)
def test_bad_requests_get_a_one_line_reason(client: TestClient, path: str, status: int) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert response.text.startswith(f"{status}: ") and response.text.count("\n") == 1
    assert "Traceback" not in response.text


def test_identifiers_never_leave_the_served_folder(served: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "inner").mkdir(parents=True)
    secret = tmp_path / "secret.tadm"
    secret.write_bytes((served / "cats" / "chelsea.tadm").read_bytes())
    (root / "inner" / "out.tadm").symlink_to(secret)  # a link out of the folder
    (root / "inner" / "ok.tadm").symlink_to(served / "cats" / "chelsea.tadm")
    (root / "inner" / "in.tadm").symlink_to(root / "inner" / "ok.tadm")  # a link to a link out
    client = TestClient(create_app(TadmLibrary(root)))
    for identifier in (
        "..%2Fsecret",
        "inner%2F..%2F..%2Fsecret",
        "%2E%2E%2Fsecret",
        "%252E%252E%252Fsecret",  # doubly encoded: decoded once, it names a file '%2E%2E%2Fsecret'
        f"%2F{str(tmp_path).replace('/', '%2F')}%2Fsecret",
        "inner%2Fout",
        "inner%2Fok",
        "inner%2Fin",
        "inner%5C..%5C..%5Csecret",
        "inner%2F%2Fout",
        "inner%00",
    ):
        response = client.get(f"/iiif/3/{identifier}/info.json")
        assert response.status_code in (400, 404), identifier
        assert ".tadm" not in response.text  # no resolved path is told
    linked_inside = root / "inner" / "copy.tadm"
    linked_inside.write_bytes(secret.read_bytes())
    (root / "alias.tadm").symlink_to(linked_inside)
    assert client.get("/iiif/3/alias/info.json").status_code == 200  # a link within the folder is fine


class GatedImage:
    """A plain image whose decodes wait until the test opens its library's gate, and are recorded."""

    def __init__(self, image: PlainImage, library: GatedLibrary) -> None:
        self.image, self.library = image, library
        for name in ("width", "height", "fingerprint", "mode", "lr_scale", "icc_profile"):
            setattr(self, name, getattr(image, name))

    def decode(self, box: tuple[int, int, int, int]) -> Image.Image:
        self.library.decoded.append(box)
        self.library.gate.wait(10)
        return self.image.decode(box)


class GatedLibrary(PlainLibrary):
    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.gate, self.decoded = threading.Event(), []

    def open(self, identifier: str) -> GatedImage:
        return GatedImage(super().open(identifier), self)


def test_a_full_queue_answers_503_with_retry_after(tmp_path: Path) -> None:
    Image.new("RGB", (600, 400), "teal").save(tmp_path / "plain.png")
    library = GatedLibrary(tmp_path)
    app = create_app(library, ServerSettings(workers=1, queue=1))

    async def burst() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            boxes = ["0,0,100,100", "100,0,100,100", "200,0,100,100"]
            tasks = [asyncio.create_task(client.get(f"/iiif/3/plain/{box}/max/0/default.png")) for box in boxes]
            await asyncio.sleep(0.5)
            library.gate.set()
            return await asyncio.gather(*tasks)

    statuses = sorted(r.status_code for r in asyncio.run(burst()))
    assert statuses == [200, 200, 503]
    refused = TestClient(app)  # with the gate open, the same request now succeeds
    assert refused.get("/iiif/3/plain/200,0,100,100/max/0/default.png").status_code == 200


def test_the_pixel_budget_is_advertised_and_kept(served: Path) -> None:
    settings = ServerSettings(limits=Limits(max_area=200_000, max_width=600))
    client = TestClient(create_app(TadmLibrary(served), settings))
    info = client.get(f"/iiif/3/{URL_ID}/info.json").json()
    assert (info["maxArea"], info["maxWidth"]) == (200_000, 600) and "maxHeight" not in info
    assert client.get(f"/iiif/3/{URL_ID}/full/700,/0/default.jpg").status_code == 400
    assert pixels(client.get(f"/iiif/3/{URL_ID}/full/max/0/default.jpg")).shape[:2] == (365, 547)


def test_the_index_and_the_viewer_page(client: TestClient) -> None:
    index = client.get("/")
    assert f'href="view/{URL_ID}"' in index.text and IDENTIFIER in index.text
    viewer = client.get(f"/view/{URL_ID}")
    assert f'"../iiif/3/{URL_ID}/info.json"' in viewer.text
    script = client.get("/static/openseadragon/openseadragon.min.js")
    assert script.status_code == 200 and b"OpenSeadragon" in script.content[:1000]


def test_a_damaged_file_fails_alone(served: Path, tmp_path: Path) -> None:
    data = (served / "cats" / "chelsea.tadm").read_bytes()
    (tmp_path / "good.tadm").write_bytes(data)
    (tmp_path / "cut.tadm").write_bytes(data[: len(data) * 2 // 3])
    (tmp_path / "noise.tadm").write_bytes(bytes(range(256)) * 4)
    client = TestClient(create_app(TadmLibrary(tmp_path)))
    for path in ("cut/full/75,/0/default.jpg", "cut/0,0,256,256/max/0/default.png", "noise/info.json"):
        response = client.get(f"/iiif/3/{path}")
        assert response.status_code == 500 and response.text.startswith("500: "), path
        assert response.text.count("\n") == 1 and "Traceback" not in response.text
    assert client.get("/iiif/3/good/full/75,/0/default.jpg").status_code == 200


def test_a_client_that_goes_away_cancels_its_queued_decode(tmp_path: Path) -> None:
    Image.new("RGB", (600, 400), "olive").save(tmp_path / "plain.png")
    library = GatedLibrary(tmp_path)
    app = create_app(library, ServerSettings(workers=1, queue=4))

    async def scenario() -> int:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            running = asyncio.create_task(client.get("/iiif/3/plain/0,0,100,100/max/0/default.png"))
            queued = asyncio.create_task(client.get("/iiif/3/plain/100,0,100,100/max/0/default.png"))
            await asyncio.sleep(0.3)
            queued.cancel()  # the client of the queued decode goes away
            await asyncio.sleep(0.1)
            library.gate.set()
            status = (await running).status_code
            await asyncio.sleep(0.3)  # time for the worker to take a queued decode, had it stayed
            return status

    assert asyncio.run(scenario()) == 200
    assert library.decoded == [(0, 0, 100, 100)]  # the queued one never ran


@pytest.mark.slow
def test_load_of_8_clients_has_no_errors_and_a_burst_beyond_the_queue_gets_503s(served: Path) -> None:
    """Over a real socket (uvicorn): 8 concurrent clients fetch every tile of the pyramid with no error;
    then 40 distinct full-zoom regions at once against 1 worker and a queue of 2 get 200s and 503s
    (with Retry-After), and every request is answered in time: no hang."""
    from .live_server import live_server

    info_url = f"/iiif/3/{URL_ID}/info.json"
    tiles = [
        f"/iiif/3/{URL_ID}/{x},{y},{min(512, 1200 - x)},{min(512, 800 - y)}/max/0/default.jpg"
        for x in (0, 512, 1024)
        for y in (0, 512)
    ]
    tiles += [f"/iiif/3/{URL_ID}/full/{w},/0/default.jpg" for w in (75, 150, 300)]
    burst = [
        f"/iiif/3/{URL_ID}/{x},{y},64,64/64,/0/default.png" for x in range(0, 1200, 240) for y in range(0, 800, 100)
    ]

    async def clients(base: str, urls: list[str], concurrency: int, timeout: float) -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=concurrency)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout) as client:
            return await asyncio.gather(*(client.get(url) for url in urls))

    with live_server(create_app(TadmLibrary(served), ServerSettings(workers=2))) as server:
        responses = asyncio.run(clients(f"http://{server}", [info_url, *tiles * 2], 8, 120))
    assert [r.status_code for r in responses] == [200] * len(responses)
    with live_server(create_app(TadmLibrary(served), ServerSettings(workers=1, queue=2, cache_mb=0))) as server:
        responses = asyncio.run(clients(f"http://{server}", burst, len(burst), 120))
    statuses = [r.status_code for r in responses]
    assert set(statuses) == {200, 503} and statuses.count(200) >= 3, statuses
    assert all(int(r.headers["retry-after"]) >= 1 for r in responses if r.status_code == 503)


@pytest.mark.slow
def test_kept_patches_give_the_same_pixels_in_bounded_memory(served: Path) -> None:
    """TadmFile.keep_patches (what the server decodes with): boxes in any order equal fresh decodes of
    them, and the patches kept stay within the bound."""
    path = served / "cats" / "chelsea.tadm"
    boxes = [(600, 300, 900, 700), (0, 0, 512, 512), (512, 0, 1024, 512), (100, 500, 1200, 800), (0, 0, 1200, 800)]
    with tadmcodec.open(path) as kept, tadmcodec.open(path) as fresh:
        kept.keep_patches(8)
        for box in boxes:
            assert np.array_equal(np.asarray(kept.decode(box)), np.asarray(fresh.decode(box))), box
            textured = kept._kept[0]  # the default 16x model's prior stage, over the patch renderer
            assert isinstance(textured, TexturedRenderer) and len(textured._tiles) <= 1  # 8 patches: one tile
            renderer = textured.renderer
            assert len(renderer._pixels) <= 8 and len(renderer._latents) <= 8
