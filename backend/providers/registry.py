"""Name → class registries with lazy imports, shared by the speech and LLM provider factories."""

from __future__ import annotations

import importlib

from backend.core.errors import ConfigError


def load_registered(registry: dict[str, str], name: str, key: str) -> type:
    """Import and return the class registered as `name` ("module:Class"), or fail naming the known ones."""
    target = registry.get(name)
    if target is None:
        raise ConfigError(f"{key}: '{name}' is unknown; known: {', '.join(registry)}")
    module_name, _, class_name = target.partition(":")
    cls: type = getattr(importlib.import_module(module_name), class_name)
    return cls
