"""What the readers of :mod:`connectivity.load` share: the layer constants, :class:`OsmLayers`
(the layers of one OSM source, or of a road file) and the small helpers of every reader
(the input file check, empty and built layer frames, the first of a list value)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from connectivity.errors import InputDataError, not_a_file

WGS84 = "EPSG:4326"
OSM_ATTRIBUTION = "© OpenStreetMap contributors"
ROAD_COLUMNS = ("highway", "name", "ref", "surface", "lanes", "width", "bridge", "tunnel", "layer", "osm_id")
# OSM keys kept on points of interest (site selection rules may use any of them).
SIMPLIFY_KEEP = ("highway", "name", "ref", "surface", "lanes", "width", "bridge", "tunnel", "layer")
POI_KEYS = ("amenity", "office", "power", "telecom", "man_made", "building", "healthcare",
            "government", "communication:mobile_phone", "tower:type", "name", "operator", "voltage")


@dataclass(frozen=True)
class OsmLayers:
    """Layers read from one OSM source, all in EPSG:4326.

    Attributes
    ----------
    roads
        One row per road edge between junctions (LineString), columns :data:`ROAD_COLUMNS`.
    pois
        Points of interest (nodes, and centroids of ways/areas) with the tag columns of :data:`POI_KEYS`.
    buildings
        Building outlines (Polygon/MultiPolygon) with ``osm_id``.
    poles
        Utility poles, towers and communication masts (Point) with ``owner`` and ``kind``.
    lines
        Overhead power and telecom lines (LineString) with ``owner`` and ``kind``.
    roads_noded
        False when the roads are plain lines that must be split where they meet or cross.
    warnings
        One line each for what could not be loaded and was left out (``summary.json``: ``warnings``).
    """

    roads: gpd.GeoDataFrame
    pois: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    poles: gpd.GeoDataFrame
    lines: gpd.GeoDataFrame
    roads_noded: bool = True
    warnings: tuple[str, ...] = ()

    @classmethod
    def from_road_lines(cls, roads: gpd.GeoDataFrame) -> "OsmLayers":
        """Layers holding only road lines that still need noding (a road file, not an OSM graph)."""
        return cls(roads=roads, pois=_empty(("osm_id",) + POI_KEYS), buildings=_empty(("osm_id", "building")),
                   poles=_empty(("osm_id", "kind", "owner")), lines=_empty(("osm_id", "kind", "owner")),
                   roads_noded=False)


def _empty(columns: Iterable[str], crs: str = WGS84) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in columns}, geometry=[], crs=crs)


def _frame(rows: list[dict], columns: Iterable[str]) -> gpd.GeoDataFrame:
    if not rows:
        return _empty(columns)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=WGS84)


def _check_file(path: Path) -> Path:
    path = Path(path)
    problem = not_a_file(path)
    if problem:
        raise InputDataError(f"{path}: {problem}")
    if path.stat().st_size == 0:
        raise InputDataError(f"{path}: file is empty")
    return path


def _first(value):
    """osmnx merges attributes of simplified ways into lists (and a GeoJSON property may be a
    list, read as an array); keep the first value."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return value[0] if len(value) else None
    return value
