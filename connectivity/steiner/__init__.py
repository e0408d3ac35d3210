"""Steiner tree engine on plain arrays: ``solve`` and instance readers.

Only numpy, scipy and numba are used (no geopandas/shapely).
"""

from connectivity.steiner.instance import SteinerInstance, read_instance
from connectivity.steiner.solver import SteinerResult, solve

__all__ = ["solve", "read_instance", "SteinerResult", "SteinerInstance"]
