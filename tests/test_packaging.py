"""Every Python package folder is listed in pyproject.toml, so a regular (non-editable) install is whole;
the package exports what it declares."""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_folder_is_installed() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {name: ROOT / folder for name, folder in config["package-dir"].items()}
    found = set()
    for name, folder in folders.items():
        for init in folder.rglob("__init__.py"):
            relative = init.parent.relative_to(folder)
            found.add(".".join([name, *relative.parts]))
    assert found == set(config["packages"])


def test_every_name_the_package_exports_exists() -> None:
    import tadmcodec

    missing = [name for name in tadmcodec.__all__ if not hasattr(tadmcodec, name)]
    assert not missing, missing
    assert tadmcodec.__version__ == importlib.metadata.version("tadmcodec")
