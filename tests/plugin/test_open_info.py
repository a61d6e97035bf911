"""Image.open is lazy: size, mode and info from the header, no torch import, no model run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PIL import Image

import tadmcodec_plugins.pillow as plugin


def test_open_reports_header_fields(encoded: dict[str, Path]) -> None:
    with Image.open(encoded["rgba"]) as image:
        assert image.format == "TADM" and image.size == (96, 64) and image.mode == "RGBA"
        assert image.info["tadm_scale"] == 16 and image.info["tadm_model"] == "test-16x"
        assert image.info["tadm_lr_size"] == (6, 4)
        assert image.get_format_mimetype() == plugin.MIME


def test_registration() -> None:
    plugin.register()
    assert Image.registered_extensions()[".tadm"] == "TADM"
    assert "TADM" in Image.OPEN and "TADM" in Image.SAVE


def test_open_and_thumbnail_import_no_torch(encoded: dict[str, Path]) -> None:
    script = (
        "import sys\nfrom PIL import Image\nimport tadmcodec\n"
        f"im = Image.open({str(encoded['rgb'])!r}); im.thumbnail((8, 8)); im.load()\n"
        "assert im.size == (8, 5), im.size\nassert 'torch' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)


def test_plugin_module_alone_registers(encoded: dict[str, Path]) -> None:
    script = (
        "import sys\nfrom PIL import Image\nimport tadmcodec_plugins.pillow\n"
        f"assert Image.open({str(encoded['gray'])!r}).format == 'TADM'\nassert 'torch' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)
