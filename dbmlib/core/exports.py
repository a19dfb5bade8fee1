"""How a subpackage's ``__init__`` exports its modules' public names, in one place."""

from __future__ import annotations

import importlib
import sys

__all__ = ["reexport"]


def reexport(package: str, modules: list[str]) -> list[str]:
    """Import each module of ``package`` and make its ``__all__`` names attributes of the
    package, so ``from dbmlib.segment import rfm_summary`` works; returns the package's
    ``__all__`` (each name once, in module order)."""
    pkg = sys.modules[package]
    names: list[str] = []
    for module in modules:
        mod = importlib.import_module(f"{package}.{module}")
        for name in mod.__all__:
            setattr(pkg, name, getattr(mod, name))
            if name not in names:
                names.append(name)
    return names
