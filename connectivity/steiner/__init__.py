"""Steiner tree engine on plain arrays: ``solve`` and instance readers.

Only numpy, scipy and numba are used (no geopandas/shapely). The names below load their
module (and numba's kernels) on first use, so that importing the package, e.g. for the
command line's ``steiner`` subcommand, costs nothing until a tree is solved or read.
"""
from __future__ import annotations

import importlib

_HOME = {"solve": "solver", "SteinerResult": "solver", "read_instance": "instance", "SteinerInstance": "instance"}

__all__ = ["solve", "read_instance", "SteinerResult", "SteinerInstance"]


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"connectivity.steiner.{_HOME[name]}"), name)
    globals()[name] = value
    return value
