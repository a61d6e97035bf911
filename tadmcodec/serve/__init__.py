"""An IIIF Image API 3.0 (level 2) server over .tadm files: `create_app(TadmLibrary(folder))` is an ASGI
app; `tadmcodec serve FOLDER` runs it under uvicorn (the `serve` extra installs both)."""

from .app import IIIFService, ServerSettings, create_app
from .iiif_request import IIIFError, Limits
from .library import Library, ServedImage, TadmLibrary

__all__ = [
    "IIIFError",
    "IIIFService",
    "Library",
    "Limits",
    "ServedImage",
    "ServerSettings",
    "TadmLibrary",
    "create_app",
]
