"""Resumable checkpoints without pickle: tensors in safetensors, everything else in JSON.

A checkpoint is a folder written beside its final place and renamed, so an interrupted save leaves
the previous checkpoint intact.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file


def _flatten(prefix: str, value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Move tensors out of a nested structure into `tensors`, leaving JSON-able references."""
    if isinstance(value, torch.Tensor):
        tensors[prefix] = value.detach().cpu().contiguous()
        return {"__tensor__": prefix}
    if isinstance(value, dict):
        return {
            "__dict__": [
                [_flatten(f"{prefix}.k{i}", k, tensors), _flatten(f"{prefix}.{i}", v, tensors)]
                for i, (k, v) in enumerate(value.items())
            ]
        }
    if isinstance(value, (list, tuple)):
        return {"__list__": [_flatten(f"{prefix}.{i}", v, tensors) for i, v in enumerate(value)]}
    return value


def _unflatten(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(value, dict):
        if "__tensor__" in value:
            return tensors[value["__tensor__"]]
        if "__dict__" in value:
            return {_unflatten(k, tensors): _unflatten(v, tensors) for k, v in value["__dict__"]}
        if "__list__" in value:
            return [_unflatten(v, tensors) for v in value["__list__"]]
    return value


def save_checkpoint(folder: Path, state: dict[str, Any]) -> None:
    """Save a nested state (module and optimizer state dicts, counters, RNG states) atomically."""
    tensors: dict[str, torch.Tensor] = {}
    structure = _flatten("s", state, tensors)
    temporary = folder.with_name(folder.name + ".part")
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir(parents=True)
    save_file(tensors, temporary / "state.safetensors")
    (temporary / "state.json").write_text(json.dumps(structure))
    old = folder.with_name(folder.name + ".old")
    if folder.exists():
        shutil.rmtree(old, ignore_errors=True)
        folder.rename(old)
    temporary.rename(folder)
    shutil.rmtree(old, ignore_errors=True)


def load_checkpoint(folder: Path) -> dict[str, Any] | None:
    """The saved state, or None when there is no checkpoint."""
    if not (folder / "state.json").is_file():
        return None
    tensors = load_file(folder / "state.safetensors")
    return _unflatten(json.loads((folder / "state.json").read_text()), tensors)
