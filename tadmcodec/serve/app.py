"""The IIIF Image API 3.0 server: an ASGI app (Starlette) over a library of images, mountable in another
ASGI app, run by `tadmcodec serve` under uvicorn.

    /iiif/3/{identifier}                                   303 to its info.json
    /iiif/3/{identifier}/info.json                         image information (JSON-LD when asked)
    /iiif/3/{identifier}/{region}/{size}/{rotation}/{quality}.{format}
    /                                                      an index of the images, each opening the viewer
    /view/{identifier}                                     the deep-zoom viewer (OpenSeadragon)

Identifiers are URL-encoded path segments (a `/` inside one is `%2F`); the app splits the raw path, so
an encoded slash never splits an identifier, and decodes each segment exactly once. Requests the stored
LR answers are served from it on the event loop's thread pool without any model; the rest wait for the
decode pool (tadmcodec.serve.decode_pool). Every response but a 304 carries CORS headers; images and
info.json carry an ETag (the file's SHA-256 and the canonical request) and Cache-Control.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

from PIL import Image
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..errors import TadmError
from .decode_pool import DecodePool
from .iiif_request import FORMATS, IIIFError, ImageRequest, Limits, parse_request
from .info import CONTEXT, image_info
from .library import Library, ServedImage
from .region_cache import RegionCache
from .render import encode, finish, from_lr, lr_serves
from .viewer import STATIC, index_page, viewer_page

PREFIX = "/iiif/3/"
CACHE_CONTROL = "public, max-age=86400"
JSON_LD = f'application/ld+json;profile="{CONTEXT}"'


@dataclass(frozen=True)
class ServerSettings:
    """How the server works: decode workers and waiting decodes, the region cache, the pixel budget of one
    response, the public base URL (None: from each request), and how far the LR may be enlarged to
    answer a request without the model (the Pillow plugin's draft rule, 4)."""

    workers: int = 1
    queue: int = 16
    cache_mb: int = 256
    limits: Limits = field(default_factory=Limits.in_memory)
    base_url: str | None = None
    lr_upscale_limit: float = 4.0


class IIIFService:
    """The IIIF endpoints over one library (see the module docstring)."""

    def __init__(self, library: Library, settings: ServerSettings) -> None:
        self.library, self.settings = library, settings
        self.pool = DecodePool(settings.workers, settings.queue, RegionCache(settings.cache_mb << 20))

    async def handle(self, request: Request) -> Response:
        try:
            return await self._route(request)
        except IIIFError as err:
            headers = {"Retry-After": str(err.retry_after)} if err.retry_after else None
            return PlainTextResponse(f"{err.status}: {err}\n", err.status, headers)
        except TadmError as err:  # a damaged file: this request fails, the server goes on
            return PlainTextResponse(f"500: {err}\n", 500)

    async def _route(self, request: Request) -> Response:
        raw = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1").split("?")[0]
        raw = raw[len(request.scope.get("root_path", "")) :]
        segments = [unquote(segment) for segment in raw[len(PREFIX) :].split("/")]
        image = await run_in_threadpool(self.library.open, segments[0])
        service_id = f"{self._base(request)}{PREFIX}{quote(segments[0], safe='')}"
        if len(segments) == 1:
            return RedirectResponse(f"{service_id}/info.json", 303)
        if len(segments) == 2 and segments[1] == "info.json":
            return self._info(request, image, service_id)
        if len(segments) != 5:
            raise IIIFError(404, "no such resource: use {identifier}/info.json or an image request")
        parsed = parse_request(*segments[1:], image.width, image.height, self.settings.limits)
        return await self._image(request, image, parsed)

    def _base(self, request: Request) -> str:
        return (self.settings.base_url or str(request.base_url)).rstrip("/")

    def _info(self, request: Request, image: ServedImage, service_id: str) -> Response:
        body = json.dumps(image_info(image, service_id, self.settings.limits), indent=1).encode()
        tag = _etag(image, service_id)
        if _matches(request, tag):
            return Response(status_code=304, headers={"ETag": tag})
        media = JSON_LD if "application/ld+json" in request.headers.get("accept", "") else "application/json"
        return Response(body, media_type=media, headers={"ETag": tag, "Cache-Control": CACHE_CONTROL})

    async def _image(self, request: Request, image: ServedImage, parsed: ImageRequest) -> Response:
        tag = _etag(image, parsed.canonical)
        headers = {"ETag": tag, "Cache-Control": CACHE_CONTROL}
        if _matches(request, tag):
            return Response(status_code=304, headers=headers)
        if lr_serves(image, parsed, self.settings.lr_upscale_limit):
            region = await run_in_threadpool(from_lr, image, parsed)
            headers["X-Served-From"] = "lr"
        else:
            region = await _unless_disconnected(request, self.pool.region(image, parsed.region))
            headers["X-Served-From"] = "decode"
        body = await run_in_threadpool(lambda: encode(finish(region, parsed), parsed.format, image.icc_profile))
        return Response(body, media_type=FORMATS[parsed.format], headers=headers)


async def _unless_disconnected(request: Request, work: Coroutine[Any, Any, Image.Image]) -> Image.Image:
    """Await `work`, cancelling it (and so a decode queued for this request alone) if the client
    disconnects first."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_disconnect(request))
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        task.cancel()
        raise
    finally:
        watcher.cancel()
    if not task.done():
        task.cancel()
        raise IIIFError(499, "the client went away")
    return task.result()


async def _disconnect(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


def _etag(image: ServedImage, what: str) -> str:
    return f'"{image.fingerprint[:20]}-{hashlib.sha256(what.encode()).hexdigest()[:20]}"'


def _matches(request: Request, tag: str) -> bool:
    wanted = request.headers.get("if-none-match", "")
    return wanted.strip() == "*" or tag in (t.strip().removeprefix("W/") for t in wanted.split(","))


def create_app(library: Library, settings: ServerSettings | None = None) -> Starlette:
    """The ASGI app serving `library` (see the module docstring); `app.state.iiif` is its IIIFService."""
    service = IIIFService(library, settings or ServerSettings())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        service.pool.close()

    async def index(request: Request) -> Response:
        return HTMLResponse(index_page(await run_in_threadpool(library.identifiers), PREFIX))

    async def viewer(request: Request) -> Response:
        identifier = request.path_params["identifier"]
        return HTMLResponse(viewer_page(identifier, f"{PREFIX}{quote(identifier, safe='')}/info.json"))

    app = Starlette(
        routes=[
            Route("/", index),
            Route("/view/{identifier:path}", viewer),
            Route(PREFIX + "{rest:path}", service.handle, methods=["GET", "HEAD"]),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origins=["*"],
                allow_methods=["GET", "HEAD", "OPTIONS"],
                expose_headers=["ETag", "Retry-After", "X-Served-From"],
            )
        ],
        lifespan=lifespan,
    )
    app.state.iiif = service
    return app
