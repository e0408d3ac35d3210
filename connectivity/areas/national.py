"""The national outputs of a many-area run: ``areas.csv``, ``summary.json``, ``ducts.gpkg``, ``overview.html``.

Made from the areas' results (ordered by area name, so the files are the same whatever the
order in which the areas completed) and from their plan folders. Per area the headline
figures of :func:`connectivity.economics.headline` (the figures ``connectivity compare``
shows); the totals add what adds up (lengths, costs, savings, shares, buildings, poles) and
take the certified gap of the whole (network cost over the sum of the areas' lower bounds).
Overhead lines are cut with each area's margin, so neighbours may both take down the same span:
the total ``overhead_km_removed`` counts the union of the spans removed (each once).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from connectivity.economics import headline
from connectivity.load import OSM_ATTRIBUTION, WGS84
from connectivity.output import write_csv, write_json

log = logging.getLogger(__name__)

FIRST_COLUMNS = ("area", "folder", "status", "reason", "warnings")
FIXED_GPKG_DATE = "2000-01-01T00:00:00.000Z"
# headline figures that add up over areas (the others are recomputed or left per area)
ADDITIVE = ("sites_connected", "sites_total", "trench_km", "shared_trench_km", "total_cost", "separate_total_cost",
            "savings", "buildings_passed", "overhead_km_removed", "poles_removable")


def area_rows(results: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per area (sorted by name): name, folder, status, reason, the warnings logged while it
    was planned (one line, ``; `` between them), cost per km and the headline figures."""
    rows = []
    for r in sorted(results, key=lambda r: r["area"]):
        row: dict[str, Any] = {"area": r["area"], "folder": r["folder"], "status": r["status"], "reason": r["reason"],
                               "warnings": "; ".join(" ".join(w.split()) for w in r.get("warnings") or [])}
        s = r.get("summary") if r["status"] == "ok" else None
        if s:
            figures = {k: v for k, (_, v) in headline(s).items()}
            km = figures.get("trench_km")
            row["cost_per_km"] = round(figures["total_cost"] / km, 2) if km and figures.get("total_cost") else None
            row["lower_bound"] = s.get("lower_bound")
            row["network_cost"] = s.get("network_cost", s.get("total_cost"))   # what lower_bound bounds
            row.update(figures)
        rows.append(row)
    return rows


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    cols = list(FIRST_COLUMNS)
    for row in rows:
        cols += [c for c in row if c not in cols]
    return cols


def totals(rows: list[dict[str, Any]], *, overhead_share: float = 1.0) -> dict[str, Any]:
    """Sums over the areas planned (``ok``): the additive figures and each operator's share;
    ``savings_pct``, ``cost_per_km`` and ``gap_pct`` (certified: the areas' network costs over the
    sum of their lower bounds) recomputed from the sums. ``overhead_km_removed`` is the sum times
    ``overhead_share`` (:func:`removed_share`): the sum counts twice what two areas' margins share."""
    ok = [r for r in rows if r["status"] == "ok"]
    out: dict[str, Any] = {}
    for key in ADDITIVE + tuple(sorted({k for r in ok for k in r if k.startswith("share_")})):
        vals = [r[key] for r in ok if r.get(key) is not None]
        out[key] = round(float(sum(vals)), 3) if vals else None
    for key in ("sites_connected", "sites_total", "buildings_passed", "poles_removable"):
        if out.get(key) is not None:
            out[key] = int(out[key])
    sep, sav, cost, km = (out.get(k) for k in ("separate_total_cost", "savings", "total_cost", "trench_km"))
    out["savings_pct"] = round(100.0 * sav / sep, 3) if sep else None
    out["cost_per_km"] = round(cost / km, 2) if cost and km else None
    bounded = [r for r in ok if r.get("lower_bound")]
    bound = sum(r["lower_bound"] for r in bounded)
    network = sum(r.get("network_cost") or r["total_cost"] for r in bounded)
    out["lower_bound"] = round(bound, 2) if ok else None
    out["network_cost"] = round(network, 2) if ok else None
    out["gap_pct"] = round(100.0 * (network / bound - 1.0), 3) if network and bound else None
    if out.get("overhead_km_removed") is not None:
        out["overhead_km_removed"] = round(out["overhead_km_removed"] * overhead_share, 3)
    return out


def area_spans(result: dict[str, Any], out: Path):
    """The overhead spans one planned area removes (its ``aerial.geojson``, WGS84 line geometries);
    None when it failed or has no overhead lines. Read as each area completes, like :func:`area_ducts`."""
    import geopandas as gpd

    path = out / result["folder"] / "aerial.geojson"
    if result["status"] != "ok" or not path.is_file():
        return None
    f = gpd.read_file(path, engine="pyogrio")
    if f.empty or "feature" not in f or "removed" not in f:
        return None
    return f.geometry[(f["feature"] == "span") & f["removed"].astype(bool)].to_crs(WGS84).values


def removed_share(spans: Sequence[Any]) -> float:
    """Length of the union of the areas' removed spans over the sum of their lengths (arrays of
    WGS84 lines, None skipped; 1.0 when there are none): the share of the summed
    ``overhead_km_removed`` left once a span two areas' margins share counts once. Lengths on the
    WGS84 ellipsoid; coordinates snapped to a 1e-7 degree grid (about 1 cm) so that the copies of
    a line cut at different margins overlap exactly."""
    import numpy as np
    import shapely
    from pyproj import Geod

    parts = [np.asarray(s) for s in spans if s is not None and len(s)]
    if not parts:
        return 1.0
    lines = np.concatenate(parts)
    geod = Geod(ellps="WGS84")
    whole = sum(geod.geometry_length(g) for g in lines)
    return float(geod.geometry_length(shapely.union_all(lines, grid_size=1e-7)) / whole) if whole > 0 else 1.0


def write_tables(results: Sequence[dict[str, Any]], out: Path, *, scenario: str, areas_file: str,
                 margin_m: float, overhead_share: float = 1.0) -> tuple[Path, Path]:
    """``areas.csv`` (one row per area) and ``summary.json`` (counts, failures, totals, rows);
    ``overhead_share``: see :func:`totals`."""
    rows = area_rows(results)
    csv = out / "areas.csv"
    write_csv(pd.DataFrame(rows, columns=_columns(rows), dtype=object), csv)
    failed = [{"area": r["area"], "reason": r["reason"]} for r in rows if r["status"] != "ok"]
    summary = {
        "scenario": scenario,
        "areas_file": areas_file,
        "margin_m": margin_m,
        "areas": len(rows),
        "areas_ok": len(rows) - len(failed),
        "areas_failed": len(failed),
        "failed": failed,
        "currency": "THB",
        "total": totals(rows, overhead_share=overhead_share),
        "per_area": rows,
        "attribution": OSM_ATTRIBUTION,
    }
    path = out / "summary.json"
    write_json(summary, path)
    return csv, path


def area_ducts(result: dict[str, Any], out: Path):
    """One planned area's ``ducts.geojson`` (WGS84) with an ``area`` column first; None when it failed.
    Read as each area completes (the driver waits for the others meanwhile), then :func:`all_ducts`."""
    import geopandas as gpd

    if result["status"] != "ok":
        return None
    f = gpd.read_file(out / result["folder"] / "ducts.geojson", engine="pyogrio")
    f.insert(0, "area", result["area"])
    return f


def all_ducts(results: Sequence[dict[str, Any]], out: Path, read: dict[str, Any] | None = None):
    """Every planned area's ``ducts.geojson`` in one frame (WGS84) with an ``area`` column first,
    areas by name; ``read``: frames of :func:`area_ducts` already read, by area name."""
    import geopandas as gpd

    read = read or {}
    frames = []
    for r in sorted(results, key=lambda r: r["area"]):
        f = read[r["area"]] if r["area"] in read else area_ducts(r, out)
        if f is not None:
            frames.append(f)
    if not frames:
        return gpd.GeoDataFrame({"area": pd.Series(dtype=object)}, geometry=[], crs=WGS84)
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=WGS84)


def write_ducts(ducts, path: Path) -> Path:
    """``ducts.gpkg``: one ``ducts`` layer, the OSM attribution in its metadata and in a field."""
    import pyogrio

    from connectivity.atomic import atomic_path

    frame = ducts.assign(attribution=OSM_ATTRIBUTION)
    with atomic_path(path) as tmp_file:
        tmp = tmp_file.with_name(tmp_file.name + ".gpkg")  # GDAL wants the .gpkg extension
        try:
            tmp_file.unlink()
            # GDAL stamps the time of writing into the file: a fixed stamp gives the same bytes every run
            before = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
            pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_GPKG_DATE})
            try:
                pyogrio.write_dataframe(frame, tmp, layer="ducts", driver="GPKG", promote_to_multi=False,
                                        layer_metadata={"attribution": OSM_ATTRIBUTION},
                                        dataset_metadata={"attribution": OSM_ATTRIBUTION})
            finally:
                pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": before})
            tmp.replace(tmp_file)
        finally:
            tmp.unlink(missing_ok=True)
    return path


def write_overview(results: Sequence[dict[str, Any]], areas, ducts, operators: Sequence[str], path: Path, *,
                   title: str) -> Path:
    """``overview.html``: the areas coloured by cost per km with a tooltip each, the ducts one layer per operator."""
    import geopandas as gpd

    from connectivity import maps

    rows = {r["area"]: r for r in area_rows(results)}
    frame = gpd.GeoDataFrame({
        "area": [a.name for a in areas],
        "status": [rows[a.name]["status"] for a in areas],
        "reason": [rows[a.name]["reason"] for a in areas],
        "trench_km": [rows[a.name].get("trench_km") for a in areas],
        "total_cost": [rows[a.name].get("total_cost") for a in areas],
        "cost_per_km": [rows[a.name].get("cost_per_km") for a in areas],
        "savings_pct": [rows[a.name].get("savings_pct") for a in areas],
        "sites_connected": [rows[a.name].get("sites_connected") for a in areas],
    }, geometry=[a.geometry for a in areas], crs=WGS84)
    for c in ("trench_km", "total_cost", "cost_per_km", "savings_pct", "sites_connected"):
        frame[c] = pd.to_numeric(frame[c], errors="coerce").astype(float)
    m = maps.areas_map(frame, ducts, operators=operators, title=title)
    return maps.save_map(m, path)


def operators_of(results: Sequence[dict[str, Any]]) -> list[str]:
    """Operators with sites in any planned area, in first-seen order over areas sorted by name."""
    ops: list[str] = []
    for r in sorted(results, key=lambda r: r["area"]):
        for op in ((r.get("summary") or {}).get("sites_per_operator") or {}):
            if op not in ops:
                ops.append(op)
    return ops

