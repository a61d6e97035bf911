"""Named models: the shipped ones inside the package, and user folders on TADMCODEC_MODEL_PATH and in
the user models folder. A folder in the working directory is never found by name."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import UnknownModelError

PACKAGE_WEIGHTS = Path(__file__).parents[1] / "weights"
DEFAULTS_FILE = PACKAGE_WEIGHTS / "defaults.json"  # scale -> the newest released model of that scale


def default_models() -> dict[int, str]:
    """The model each scale encodes with unless another is named (a release moves it to the newest)."""
    return {int(scale): name for scale, name in json.loads(DEFAULTS_FILE.read_text(encoding="utf-8")).items()}


DEFAULT_MODELS = default_models()


def search_path() -> list[Path]:
    """Folders searched for model folders, first match wins: the package's, then the user's."""
    user = [Path(p) for p in os.environ.get("TADMCODEC_MODEL_PATH", "").split(os.pathsep) if p]
    data_home = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return [PACKAGE_WEIGHTS, *user, data_home / "tadmcodec" / "models"]


def _is_model_folder(folder: Path) -> bool:
    config = folder / "config.json"
    try:
        return config.is_file() and json.loads(config.read_text(encoding="utf-8")).get("_class_name") == "TADMModel"
    except (OSError, ValueError):
        return False


def model_scale(folder: Path) -> int:
    """The scale a model folder's config.json declares (no weights loaded)."""
    return int(json.loads((folder / "config.json").read_text(encoding="utf-8"))["scale"])


def available_models() -> dict[str, Path]:
    """name -> folder for every model found on the search path."""
    found: dict[str, Path] = {}
    for root in search_path():
        if root.is_dir():
            for folder in sorted(root.iterdir()):
                if folder.name not in found and _is_model_folder(folder):
                    found[folder.name] = folder
    return found


def resolve_model(name: str, allow_path: bool = False) -> Path:
    """The folder of a model by name, looked up only on the search path (a name read from a file is
    never a path); with allow_path, for a model the user names explicitly, a model folder path too.
    Unknown names list what exists."""
    if allow_path and _is_model_folder(Path(name)):
        return Path(name)
    models = available_models()
    if name not in models:
        known = ", ".join(sorted(models)) or "none"
        raise UnknownModelError(
            f"unknown model {name!r}; installed models: {known} (search path: TADMCODEC_MODEL_PATH)"
        )
    return models[name]
