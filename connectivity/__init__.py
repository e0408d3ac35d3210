"""connectivity: plan shared underground cable ducts along roads (dig once, share the trench).

Python API::

    from connectivity import example_scenario, load_scenario, run, write_outputs
    plan = run(load_scenario(example_scenario("chiang_mai_nimman")))   # or a scenario TOML path
    write_outputs(plan, "maps/chiang_mai_nimman")

Names are imported lazily so that ``connectivity.steiner`` stays usable without geopandas.
"""
from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["example_scenario", "load_scenario", "run", "write_outputs", "ConnectivityError"]

_LAZY = {
    "example_scenario": ("connectivity.config", "example_scenario"),
    "load_scenario": ("connectivity.config", "load_scenario"),
    "run": ("connectivity.pipeline", "run"),
    "write_outputs": ("connectivity.pipeline", "write_outputs"),
    "ConnectivityError": ("connectivity.errors", "ConnectivityError"),
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'connectivity' has no attribute {name!r}")
