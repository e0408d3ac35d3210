"""Sites to connect, per operator: chosen from OSM points of interest by tag rules, or read from a file."""
from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from connectivity.config import OperatorSpec
from connectivity.errors import InputDataError
from connectivity.load import WGS84, read_vector, row_label

log = logging.getLogger(__name__)

SITE_COLUMNS = ("site_id", "operator", "kind", "name")


def _empty_sites(crs: str = WGS84) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in SITE_COLUMNS}, geometry=[], crs=crs)


def _matched_kind(rules, record: dict) -> str | None:
    for rule in rules:
        if rule.matches(record):
            key = rule.tags[0][0]
            return str(record.get(key))
    return None


def select_sites(pois: gpd.GeoDataFrame, operators: tuple[OperatorSpec, ...], *,
                 province: str | None = None) -> gpd.GeoDataFrame:
    """Sites of every operator chosen from points of interest by the operators' tag rules.

    A POI may become a site of several operators (a hospital needs power and telecom);
    each gets its own ``site_id`` ``"<operator>-<osm id>"``. Operators that do not serve
    ``province`` get no site. Hubs (exchanges, substations) come out with ``kind = "hub"``:
    the first matching POI by id.

    Parameters
    ----------
    pois
        Points with OSM tag columns (``amenity``, ``power``, ...) and an ``osm_id`` or ``id``.
    """
    if len(pois) == 0:
        return _empty_sites(pois.crs or WGS84)
    ids = pois["osm_id"] if "osm_id" in pois else (pois["id"] if "id" in pois else pd.Series(range(len(pois))))
    records = pois.drop(columns="geometry").assign(_id=ids.astype(str).to_numpy()).to_dict("records")
    geoms = np.asarray(pois.geometry.values)
    rows: list[dict] = []
    for op in operators:
        if not op.serves(province):
            log.info("operator %s does not serve %s: no sites", op.name, province)
            continue
        hub_done = False
        for rec, geom in sorted(zip(records, geoms), key=lambda t: t[0]["_id"]):
            point = geom if geom.geom_type == "Point" else geom.representative_point()
            name = rec.get("name")
            name = "" if name is None or (isinstance(name, float) and np.isnan(name)) else str(name)
            if not hub_done and op.hub and _matched_kind(op.hub, rec):
                rows.append({"site_id": f"{op.name}-hub", "operator": op.name, "kind": "hub",
                             "name": name, "geometry": point})
                hub_done = True
                continue
            kind = _matched_kind(op.sites, rec)
            if kind:
                rows.append({"site_id": f"{op.name}-{rec['_id']}", "operator": op.name, "kind": kind,
                             "name": name, "geometry": point})
    if not rows:
        return _empty_sites(pois.crs)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=pois.crs)


def why_no_sites(pois: gpd.GeoDataFrame, operators: tuple[OperatorSpec, ...], *, province: str | None = None,
                 rules_from: str = "the operators file") -> str:
    """Why :func:`select_sites` chose no site from ``pois`` (one phrase, for an error message): no
    point of interest at all, no operator serving ``province``, none of the tag columns the
    operators' rules (from ``rules_from``) read, or no point matching them."""
    serving = [op for op in operators if op.serves(province)]
    if not serving:
        return f"no operator of {rules_from} serves {province}"
    if len(pois) == 0:
        return "no point of interest to choose them from"
    keys = sorted({key for op in serving for rule in (*op.sites, *op.hub) for key, _ in rule.tags})
    if not keys:
        return f"no operator of {rules_from} has a site or hub rule"
    n, listed = len(pois), ", ".join(keys)
    if not set(keys) & set(pois.columns):
        return f"the {n} point(s) of interest have none of the tag columns the rules of {rules_from} read ({listed})"
    return f"none of the {n} point(s) of interest matches a site or hub rule of {rules_from} (tags {listed})"


def read_sites(path: str | Path, operators: tuple[OperatorSpec, ...], *, crs: str | None = None) -> gpd.GeoDataFrame:
    """Sites from a CSV (lon/lat or x/y) or vector file with ``site_id`` (or ``id``), ``operator``, ``kind``.

    Raises
    ------
    InputDataError
        On an empty file, a missing column, a duplicate site id, an unknown operator, or a
        geometry that is not a point; the message names the file, row and id.
    """
    path = Path(path)
    return sites_from(read_vector(path, crs=crs, what="sites"), path, operators)


def sites_from(gdf: gpd.GeoDataFrame, path: Path, operators: tuple[OperatorSpec, ...]) -> gpd.GeoDataFrame:
    """:func:`read_sites` on a frame already read from ``path`` (its checks and columns)."""
    if len(gdf) == 0:
        raise InputDataError(f"{path}: no sites (the layer is empty)")
    if "site_id" not in gdf and "id" in gdf:
        gdf = gdf.rename(columns={"id": "site_id"})
    for col in ("site_id", "operator"):
        if col not in gdf:
            raise InputDataError(f"{path}: missing column `{col}`")
    kinds = set(gdf.geom_type.unique())
    if kinds - {"Point"}:
        bad = int(np.flatnonzero((gdf.geom_type != "Point").to_numpy())[0])
        raise InputDataError(f"{row_label(path, bad)}: sites must be points, found {gdf.geom_type.iloc[bad]}")
    no_id = gdf["site_id"].isna().to_numpy()  # astype(str) keeps NaN as NaN in pandas >= 2
    gdf = gdf.assign(site_id=gdf["site_id"].astype(str).str.strip())
    empty = gdf["site_id"].isin(["", "nan", "None"]) | no_id
    if empty.any():
        raise InputDataError(f"{row_label(path, int(np.flatnonzero(empty.to_numpy())[0]))}: empty site_id")
    dup = gdf["site_id"].duplicated()
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputDataError(f"{row_label(path, row)}: duplicate site_id {gdf['site_id'].iloc[row]!r}")
    known = {o.name for o in operators}
    op_text = gdf["operator"].astype(str).where(gdf["operator"].notna(), "").str.strip()   # "CAT " of a spreadsheet
    unknown = ~op_text.isin(known)
    if unknown.any():
        row = int(np.flatnonzero(unknown.to_numpy())[0])
        what = f"unknown operator {op_text.iloc[row]!r}" if op_text.iloc[row].strip() else "no operator (empty cell)"
        raise InputDataError(f"{row_label(path, row)}: site {gdf['site_id'].iloc[row]!r} has {what} "
                             f"(known: {', '.join(sorted(known))})")
    kind = gdf["kind"].astype(str) if "kind" in gdf else pd.Series(["site"] * len(gdf), index=gdf.index)
    name = gdf["name"].fillna("").astype(str) if "name" in gdf else pd.Series([""] * len(gdf), index=gdf.index)
    return gpd.GeoDataFrame({"site_id": gdf["site_id"], "operator": op_text,
                             "kind": kind, "name": name}, geometry=gdf.geometry.values, crs=gdf.crs)


def served_sites(sites: gpd.GeoDataFrame, operators: tuple[OperatorSpec, ...], province: str | None,
                 source: str) -> tuple[gpd.GeoDataFrame, list[str]]:
    """``sites`` (from ``source``: a sites file, hubs) without those of operators that do not serve
    ``province``, as :func:`select_sites` leaves them out of points of interest; and one line per
    such operator saying how many were left out (also logged as a warning)."""
    spec = {op.name: op for op in operators}
    out = [name for name in sorted(set(sites["operator"])) if name in spec and not spec[name].serves(province)]
    lines = []
    for name in out:
        n = int((sites["operator"] == name).sum())
        lines.append(f"{source}: {n} site(s) of {name} left out: {name} does not serve {province}")
        log.warning("%s", lines[-1])
    return (sites[~sites["operator"].isin(out)].reset_index(drop=True) if out else sites), lines


def hubs_from_coordinates(hubs: dict[str, tuple[float, float]]) -> gpd.GeoDataFrame:
    """Hub sites from ``{operator: (lon, lat)}``."""
    if not hubs:
        return _empty_sites()
    rows = [{"site_id": f"{op}-hub", "operator": op, "kind": "hub", "name": f"{op} hub",
             "geometry": shapely.Point(xy)} for op, xy in sorted(hubs.items())]
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=WGS84)


def combine_sites(*frames: gpd.GeoDataFrame, crs: str) -> gpd.GeoDataFrame:
    """Concatenate site frames (reprojected to ``crs``); a later hub of an operator replaces an earlier one."""
    parts = [f.to_crs(crs)[list(SITE_COLUMNS) + ["geometry"]] for f in frames if len(f)]
    if not parts:
        return _empty_sites(crs)
    out = pd.concat(parts, ignore_index=True)
    out = out.drop_duplicates("site_id", keep="last").reset_index(drop=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=crs)
