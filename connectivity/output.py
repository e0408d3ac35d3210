"""Writing a plan's folder: GeoJSON layers (RFC 7946, WGS84), JSON summary, CSV tables.

Every file is written atomically; every GeoJSON carries the OpenStreetMap attribution.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import shapely

from connectivity.atomic import atomic_path, write_text
from connectivity.load import OSM_ATTRIBUTION, WGS84

COORD_DECIMALS = 7


def _plain(value: Any) -> Any:
    """JSON-safe Python value (numpy scalars to Python, NaN/NA to None)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if value is pd.NA or value is None:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def compact_json(data: Any) -> str:
    """Plain Python ``data`` (dicts, lists, str, int, float, bool, None) as compact JSON text with
    non-ASCII characters as they are: what ``json.dumps(data, ensure_ascii=False, separators=(",",
    ":"))`` writes, but for exponents (``1e-7``, not ``1e-07``) and non-finite floats (``null``).
    orjson: about 8x faster than the json module on a large layer (100k roads: 0.2 s, not 1.5 s)."""
    return orjson.dumps(data).decode("utf-8")


def _column_values(series: pd.Series) -> list:
    """A column as JSON-safe Python values (as :func:`_plain` gives them), fast for plain numpy columns."""
    values = series.tolist()
    kind = series.dtype.kind if isinstance(series.dtype, np.dtype) else "O"
    if kind in "iub":
        return values
    if kind == "f":
        return [v if math.isfinite(v) else None for v in values]
    if all(type(v) is str for v in values):   # names, ids, classes: nothing to convert
        return values
    return [_plain(v) for v in values]


def _geometry_dicts(geoms: np.ndarray) -> list:
    """GeoJSON geometry members with coordinates rounded to :data:`COORD_DECIMALS`: built from the
    coordinate arrays for 2-D points and lines (the numbers ``shapely.to_geojson`` gives, read
    back), by GEOS for everything else (polygons oriented as RFC 7946 asks)."""
    types = shapely.get_type_id(geoms)
    simple = np.isin(types, (0, 1)) & ~shapely.is_empty(geoms) & ~shapely.has_z(geoms)
    if not simple.all():
        geoms = shapely.transform(geoms, lambda c: np.round(c, COORD_DECIMALS))
        geoms = shapely.orient_polygons(geoms) if hasattr(shapely, "orient_polygons") else geoms
        return [json.loads(shapely.to_geojson(geom)) if geom is not None else None for geom in geoms]
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    bounds = np.searchsorted(index, np.arange(len(geoms) + 1))
    rows = np.round(coords, COORD_DECIMALS).tolist()
    return [{"type": "Point", "coordinates": rows[a]} if t == 0 else {"type": "LineString", "coordinates": rows[a:b]}
            for t, a, b in zip(types.tolist(), bounds[:-1].tolist(), bounds[1:].tolist())]


def _features(g: gpd.GeoDataFrame) -> list[dict]:
    """The GeoJSON features of ``g`` (already in WGS84): properties from its columns, geometry members."""
    geoms = np.asarray(g.geometry.values)
    table = g.drop(columns=g.geometry.name)
    names = [str(c) for c in table.columns]
    columns = [_column_values(table[c]) for c in table.columns]
    return [{"type": "Feature", "properties": dict(zip(names, values)), "geometry": geom}
            for values, geom in zip(zip(*columns) if columns else [()] * len(g), _geometry_dicts(geoms))]


def _wgs84(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gdf.to_crs(WGS84) if gdf.crs is not None else gdf


def _collection(name: str, features: list[dict]) -> dict:
    return {"type": "FeatureCollection", "name": name, "attribution": OSM_ATTRIBUTION, "features": features}


def geojson_dict(gdf: gpd.GeoDataFrame, *, name: str) -> dict:
    """A GeoJSON FeatureCollection (WGS84, 7 decimals, no ``crs`` member) with the OSM attribution."""
    return _collection(name, _features(_wgs84(gdf)))


#: Features :func:`write_geojson` turns into text at a time: the layer's Python objects and text
#: are never whole in memory (a 300k-edge town's road layer: some 750 MiB at once).
WRITE_CHUNK_FEATURES = 20_000


def write_geojson(gdf: gpd.GeoDataFrame, path: str | Path, *, name: str | None = None) -> None:
    """Write ``gdf`` as RFC 7946 GeoJSON, atomically: the text of ``compact_json(geojson_dict(gdf))``
    and a line end, made and written :data:`WRITE_CHUNK_FEATURES` features at a time."""
    path = Path(path)
    g = _wgs84(gdf)
    head = orjson.dumps(_collection(name or path.stem, []))
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(head[:-len(b"]}")])
        for start in range(0, len(g), WRITE_CHUNK_FEATURES):
            part = orjson.dumps(_features(g.iloc[start:start + WRITE_CHUNK_FEATURES]))   # b"[{...},...]"
            fh.write((b"," if start else b"") + part[1:-1])
        fh.write(b"]}\n")


def write_json(data: dict, path: str | Path) -> None:
    """Write ``data`` as indented JSON (keys in insertion order), atomically."""
    write_text(path, json.dumps(_plain(data), ensure_ascii=False, indent=2) + "\n")


def write_csv(df: pd.DataFrame, path: str | Path) -> None:
    """Write a table as CSV (no index), atomically."""
    write_text(path, df.to_csv(index=False, lineterminator="\n"))
