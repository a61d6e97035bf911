"""Every Python package folder is listed in pyproject.toml, so a regular (non-editable) install is whole;
the package exports what it declares; the README shows the test command CI runs."""

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


def test_the_readme_shows_the_command_ci_runs() -> None:
    script = (ROOT / "tools" / "test.sh").read_text().splitlines()
    command = [line for line in script if line.strip() and not line.startswith(("#", "set ", "cd "))]
    assert len(command) == 1
    blocks = (ROOT / "README.md").read_text().split("```sh\n")[1:]
    assert command[0] in [block.split("```")[0].strip() for block in blocks]
    assert "tools/test.sh" in (ROOT / ".ci" / "run").read_text()
