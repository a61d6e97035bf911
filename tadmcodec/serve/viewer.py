"""The server's two HTML pages: an index of the images, and a deep-zoom viewer on OpenSeadragon (6.1.1,
BSD-3-Clause, bundled in static/openseadragon with its licence) reading the image's info.json."""

from __future__ import annotations

import html
import json
from pathlib import Path
from urllib.parse import quote

STATIC = Path(__file__).with_name("static")
THUMBNAIL = 128  # the index's thumbnails fit this square

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{margin:0;font-family:sans-serif}} #viewer{{width:100vw;height:100vh;background:#111}}
ul{{list-style:none}} li{{margin:.5em 0}} img{{vertical-align:middle;margin-right:.5em}}</style></head>
<body>{body}</body></html>
"""


def index_page(identifiers: list[str], prefix: str) -> str:
    """The served images, each as its LR thumbnail (served from the LR, no model run) linking to its
    viewer, with a link to its info.json; `prefix` is the IIIF path (/iiif/3/)."""
    items = []
    for identifier in identifiers:
        service = f"{prefix.lstrip('/')}{quote(identifier, safe='')}"
        items.append(
            f'<li><a href="view/{quote(identifier, safe="")}"><img src="{service}/full/!{THUMBNAIL},{THUMBNAIL}/0/'
            f'default.jpg" alt="" loading="lazy"> {html.escape(identifier)}</a> '
            f'(<a href="{service}/info.json">info.json</a>)</li>'
        )
    body = f"<h1>tadmcodec IIIF server</h1><p>{len(identifiers)} images</p><ul>{''.join(items)}</ul>"
    return _PAGE.format(title="tadmcodec IIIF server", body=body)


def viewer_page(identifier: str, info_url: str) -> str:
    """OpenSeadragon over the image's IIIF service; the page lives at view/{identifier}, so its links are
    relative to the app's root one level up (the app may be mounted under a prefix)."""
    script = (
        "window.viewer = OpenSeadragon({id: 'viewer', prefixUrl: '../static/openseadragon/images/', "
        f"tileSources: [{json.dumps('..' + info_url)}], showNavigator: true, maxZoomPixelRatio: 2}});"
    )
    body = (
        '<div id="viewer"></div><script src="../static/openseadragon/openseadragon.min.js"></script>'
        f"<script>{script}</script>"
    )
    return _PAGE.format(title=html.escape(identifier), body=body)
