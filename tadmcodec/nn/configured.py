"""Modules whose constructor arguments are their configuration, stored in diffusers' folder format
(config.json beside diffusion_pytorch_model.safetensors), without importing diffusers.

Inference loads the shipped models through this (diffusers' model zoo costs seconds at start-up and
pulls in transformers); the files stay readable by diffusers' own classes where one exists.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from ..errors import MissingWeightsError
from ..store.hashing import linked_file

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "diffusion_pytorch_model.safetensors"
Module = TypeVar("Module", bound="ConfiguredModule")


class Config(dict):
    """A configuration: a dict whose keys also read as attributes (config.scale)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def register_config(init: Callable[..., None]) -> Callable[..., None]:
    """Decorate __init__ so that its arguments (defaults included) become self.config."""
    signature = inspect.signature(init)

    @functools.wraps(init)
    def wrapper(self: nn.Module, *args: Any, **kwargs: Any) -> None:
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        init(self, *args, **kwargs)
        config = Config()
        for name, value in list(bound.arguments.items())[1:]:
            if signature.parameters[name].kind is inspect.Parameter.VAR_KEYWORD:
                config.update(value)
            else:
                config[name] = value
        self.config = config

    return wrapper


class ConfiguredModule(nn.Module):
    """An nn.Module with a Config, saved and loaded as a folder. Subclasses decorate __init__ with
    register_config; config keys a class does not take are refused unless listed in ignored_config."""

    config: Config
    class_name: str | None = None  # the _class_name written to config.json (default: the class's name)
    ignored_config: frozenset[str] = frozenset()
    # state-dict key prefix -> a file of its own beside WEIGHTS_NAME: an optional part that a later
    # release adds leaves the main file byte-identical, so it can stay a weight link to the earlier one
    weight_parts: ClassVar[dict[str, str]] = {}

    @classmethod
    def stored_class_name(cls) -> str:
        return cls.class_name or cls.__name__

    def register_to_config(self, **values: Any) -> None:
        """Change configuration values that training derives (a scaling factor, say)."""
        self.config.update(values)

    def save_pretrained(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        config = {"_class_name": self.stored_class_name(), **self.config}
        (folder / CONFIG_NAME).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        files: dict[str, dict[str, torch.Tensor]] = {}
        for key, value in self.state_dict().items():
            name = next((f for prefix, f in self.weight_parts.items() if key.startswith(prefix)), WEIGHTS_NAME)
            files.setdefault(name, {})[key] = value.detach().contiguous()
        for name, tensors in files.items():
            save_file(tensors, folder / name)

    @classmethod
    def from_pretrained(cls: type[Module], folder: str | Path, subfolder: str | None = None) -> Module:
        """Build from config.json and load the safetensors weights (every weight must fit); eval mode."""
        folder = Path(folder) / (subfolder or "")
        try:
            config = json.loads((folder / CONFIG_NAME).read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise MissingWeightsError(f"cannot read {folder / CONFIG_NAME}: {err}") from None
        if config.get("_class_name", cls.stored_class_name()) != cls.stored_class_name():
            raise MissingWeightsError(f"{folder} holds a {config['_class_name']}, not a {cls.stored_class_name()}")
        values = {k: v for k, v in config.items() if not k.startswith("_") and k not in cls.ignored_config}
        parameters = inspect.signature(cls.__init__).parameters
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            unknown = set(values) - set(parameters)
            if unknown:
                raise MissingWeightsError(f"{folder / CONFIG_NAME}: unknown keys {sorted(unknown)}")
        try:
            module = cls(**values)
        except (TypeError, ValueError) as err:
            raise MissingWeightsError(f"{folder / CONFIG_NAME}: {err}") from None
        try:
            state = load_file(linked_file(folder / WEIGHTS_NAME))
            for name in cls.weight_parts.values():
                if linked_file(folder / name).is_file():
                    state |= load_file(linked_file(folder / name))
            module.load_state_dict(state)
        except (OSError, RuntimeError, SafetensorError) as err:
            raise MissingWeightsError(f"cannot load {folder / WEIGHTS_NAME}: {err}") from None
        return module.eval()

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype
