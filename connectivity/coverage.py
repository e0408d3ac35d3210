"""Coverage of a duct plan: buildings passed, sites connected, H3 aggregation.

A building is *passed* when any part of its footprint lies within
``pass_distance_m`` metres of a duct segment (Germany's Bundesnetzagentur counts
premises within 20 m of the new infrastructure as passed). Results are also
aggregated on an H3 hexagon grid for the coverage map.

Everything measured here is in metres, so the inputs must be in a projected,
metric CRS (e.g. EPSG:32647); the hexagons are returned in EPSG:4326.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from connectivity.errors import CRSError, InputDataError
from connectivity.load import ensure_projected

logger = logging.getLogger(__name__)

__all__ = ["Coverage", "analyse"]


@dataclass(frozen=True)
class Coverage:
    """Result of :func:`analyse`.

    Attributes
    ----------
    summary
        ``buildings_total``, ``buildings_passed``, ``buildings_passed_pct``
        (0-100, ``None`` without buildings), ``cost_per_building_passed`` (THB,
        ``None`` when no building is passed or no cost is known), ``pass_distance_m``,
        ``sites_total`` / ``sites_connected`` ({operator: count}) and
        ``sites_connected_pct`` ({operator: 0-100}).
    buildings
        Copy of the input buildings (input CRS) with a boolean ``passed`` column
        and ``h3`` (the cell holding the footprint's centroid).
    hexagons
        EPSG:4326 GeoDataFrame, one row per H3 cell holding a building or a duct:
        ``h3``, ``buildings_total``, ``buildings_passed``, ``passed_pct`` (0-100,
        NaN for cells without buildings), ``duct_length_m``, Polygon geometry.
    passed_pairs
        ``(building, segment)`` row pairs closer than ``pass_distance_m`` (int64 arrays; rows of
        the input buildings and ducts): which segments pass each building.
    nearest_segment
        Per building: the duct row nearest to it within ``pass_distance_m``, -1 when none
        (so each passed building counts on one segment).
    """

    summary: dict[str, Any]
    buildings: gpd.GeoDataFrame
    hexagons: gpd.GeoDataFrame
    passed_pairs: tuple[np.ndarray, np.ndarray] = field(
        default_factory=lambda: (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)))
    nearest_segment: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def _check_metric(frame: gpd.GeoDataFrame, what: str) -> None:
    """Raise CRSError unless ``frame`` is in a projected CRS in metres (empty frames without a CRS pass)."""
    if len(frame) == 0 and frame.crs is None:
        return
    ensure_projected(frame, what)


def _buildings_passed(
    ducts: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, pass_distance_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """Which buildings are passed (one STRtree of the ducts).

    Returns ``(pairs, nearest)``: ``(building, duct)`` row pairs within ``pass_distance_m``
    metres (int64 arrays) and, per building, the nearest duct row within it (-1 none).
    """
    nearest = np.full(len(buildings), -1, dtype=np.int64)
    if len(buildings) == 0 or len(ducts) == 0:
        return (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)), nearest
    tree = shapely.STRtree(np.asarray(ducts.geometry.values))
    geoms = np.asarray(buildings.geometry.values)
    building_idx, duct_idx = tree.query(geoms, predicate="dwithin", distance=pass_distance_m)
    b, d = tree.query_nearest(geoms, max_distance=pass_distance_m, all_matches=False)
    nearest[b] = d
    return (building_idx.astype(np.int64), duct_idx.astype(np.int64)), nearest


def _cells_of_points(x: np.ndarray, y: np.ndarray, crs, resolution: int) -> np.ndarray:
    """H3 cells (hex strings) of points given in ``crs``."""
    import h3
    from pyproj import Transformer

    if len(x) == 0:
        return np.array([], dtype=object)
    to_wgs84 = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    lon, lat = to_wgs84.transform(x, y)
    cell = h3.latlng_to_cell
    return np.array([cell(la, lo, resolution) for la, lo in zip(lat.tolist(), lon.tolist())], dtype=object)


def _duct_length_per_cell(ducts: gpd.GeoDataFrame, resolution: int) -> pd.Series:
    """Duct length in metres per H3 cell.

    Lines are cut into pieces no longer than a quarter of the cell edge and each
    piece is counted in the cell of its midpoint, so the error per cell border
    crossed is at most an eighth of an edge.
    """
    import h3

    if len(ducts) == 0:
        return pd.Series(dtype=float)
    step = h3.average_hexagon_edge_length(resolution, unit="m") / 4.0
    geoms = ducts.geometry.values
    geoms = geoms[~(geoms.isna() | geoms.is_empty) & (shapely.length(geoms) > 0)]  # a line of no length adds nothing
    dense = shapely.segmentize(geoms, step)
    coords, part = shapely.get_coordinates(shapely.get_parts(dense), return_index=True)
    same = part[1:] == part[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    lengths = np.hypot(*(b - a).T)
    mid = (a + b) / 2.0
    cells = _cells_of_points(mid[:, 0], mid[:, 1], ducts.crs, resolution)
    return pd.Series(lengths).groupby(cells).sum()


def _hexagon_frame(table: pd.DataFrame) -> gpd.GeoDataFrame:
    import h3

    polygons = [
        shapely.Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(c)]) for c in table["h3"]
    ]
    return gpd.GeoDataFrame(table, geometry=polygons, crs="EPSG:4326")


def analyse(
    ducts: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame | None,
    sites: gpd.GeoDataFrame,
    *,
    pass_distance_m: float = 20.0,
    h3_resolution: int = 9,
    total_cost_thb: float | None = None,
) -> Coverage:
    """Measure what a duct plan covers.

    Parameters
    ----------
    ducts
        Duct segments (LineString) in a projected metric CRS, with ``cost_thb``
        (THB) when ``total_cost_thb`` is not given.
    buildings
        Building footprints (any geometry) in the same CRS as ``ducts``; may be
        empty or ``None`` (no buildings).
    sites
        Sites with ``operator`` and boolean ``connected`` columns.
    pass_distance_m
        A building is passed when its footprint is within this distance (metres)
        of a duct.
    h3_resolution
        H3 resolution of the hexagon aggregation (9: cells of about 0.1 km²).
    total_cost_thb
        Plan cost in THB used for ``cost_per_building_passed``; defaults to the
        sum of ``ducts.cost_thb`` (no cost per building when neither is given).

    Returns
    -------
    Coverage

    Raises
    ------
    CRSError
        When ducts or buildings are not in a projected CRS in metres, or their
        CRSs differ.
    InputDataError
        When ``sites`` lacks ``operator`` or ``connected``, or ``pass_distance_m`` is negative.
    """
    if buildings is None:
        buildings = gpd.GeoDataFrame(geometry=[], crs=ducts.crs)
    if not pass_distance_m >= 0 or not math.isfinite(pass_distance_m):
        raise InputDataError(f"pass_distance_m must be a non-negative number, got {pass_distance_m!r}")
    _check_metric(ducts, "ducts")
    _check_metric(buildings, "buildings")
    if len(buildings) and len(ducts) and not ducts.crs.equals(buildings.crs):
        raise CRSError(
            f"buildings CRS {buildings.crs.to_string()} differs from ducts CRS {ducts.crs.to_string()}"
        )
    for column in ("operator", "connected"):
        if column not in sites.columns:
            raise InputDataError(f"sites has no '{column}' column")
    if total_cost_thb is None and "cost_thb" in ducts.columns:
        total_cost_thb = float(ducts["cost_thb"].sum())
    elif total_cost_thb is None:
        logger.warning("ducts have no 'cost_thb' and no total_cost_thb was given: no cost per building passed")

    pairs, nearest = _buildings_passed(ducts, buildings, pass_distance_m)
    passed = np.zeros(len(buildings), dtype=bool)
    passed[pairs[0]] = True
    out_buildings = buildings.copy()
    out_buildings["passed"] = passed

    n_total = int(len(buildings))
    n_passed = int(passed.sum())
    connected = sites["connected"].fillna(False).astype(bool)
    sites_total = sites.groupby("operator").size()
    sites_connected = connected.groupby(sites["operator"]).sum().reindex(sites_total.index, fill_value=0)
    summary: dict[str, Any] = {
        "buildings_total": n_total,
        "buildings_passed": n_passed,
        "buildings_passed_pct": 100.0 * n_passed / n_total if n_total else None,
        "cost_per_building_passed": (
            float(total_cost_thb) / n_passed if n_passed and total_cost_thb is not None else None
        ),
        "pass_distance_m": float(pass_distance_m),
        "sites_total": {str(k): int(v) for k, v in sites_total.items()},
        "sites_connected": {str(k): int(v) for k, v in sites_connected.items()},
        "sites_connected_pct": {
            str(k): 100.0 * int(sites_connected[k]) / int(v) for k, v in sites_total.items()
        },
    }

    # H3 aggregation
    if n_total:
        centroids = buildings.geometry.centroid
        b_cells = _cells_of_points(centroids.x.to_numpy(), centroids.y.to_numpy(), buildings.crs, h3_resolution)
    else:
        b_cells = np.array([], dtype=object)
    out_buildings["h3"] = b_cells if n_total else pd.Series(dtype=object, index=buildings.index)
    per_cell = pd.DataFrame({"h3": b_cells, "passed": passed}).groupby("h3")["passed"].agg(["size", "sum"])
    duct_len = _duct_length_per_cell(ducts, h3_resolution)
    cells = sorted(set(per_cell.index) | set(duct_len.index))
    table = pd.DataFrame({"h3": cells})
    table["buildings_total"] = per_cell["size"].reindex(cells, fill_value=0).to_numpy().astype(int)
    table["buildings_passed"] = per_cell["sum"].reindex(cells, fill_value=0).to_numpy().astype(int)
    with np.errstate(invalid="ignore", divide="ignore"):
        table["passed_pct"] = np.where(
            table["buildings_total"] > 0,
            100.0 * table["buildings_passed"] / table["buildings_total"].where(table["buildings_total"] > 0, 1),
            np.nan,
        )
    table["duct_length_m"] = duct_len.reindex(cells, fill_value=0.0).to_numpy().astype(float)
    hexagons = _hexagon_frame(table)
    logger.info(
        "coverage: %d of %d buildings passed within %.0f m, %d H3 cells",
        n_passed, n_total, pass_distance_m, len(hexagons),
    )
    return Coverage(summary=summary, buildings=out_buildings, hexagons=hexagons, passed_pairs=pairs,
                    nearest_segment=nearest)
