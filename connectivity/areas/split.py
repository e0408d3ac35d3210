"""Cutting a scenario's inputs into areas: the areas file, clipped inputs, one scenario TOML per area.

Everything here runs once, in the driver: the inputs are read once (an OSM file split in one
pass), then each area gets only its part, written under ``DIR/.inputs/<area>/`` and handed out
(:func:`cut`) as soon as it is written, so the first areas are planned while the others are cut:

* roads (an OSM file's highway ways, a road line file) and overhead lines: everything within
  the area buffered by ``margin_m`` (roads leave the area and come back); an OSM way is kept
  whole when any of its nodes is inside, a road line file is cut at the buffered outline;
* sites, points of interest, buildings and poles: those inside the area itself (by their
  representative point), each in exactly one area (the first by name where areas touch),
  so nothing is planned or counted twice;
* an ``.osm``/``.osm.pbf`` file is split in one streaming pass with pyosmium (each area's
  ways and relations written as they come, its nodes after them), never loaded whole;
* ``scenario.toml``: the scenario with its ``[inputs]`` pointing at the clipped files, so
  ``connectivity plan DIR/.inputs/<area>/scenario.toml`` plans the same area by hand.

Areas are polygons in any CRS (kept in WGS84 here); margins are buffered in the area's
local UTM zone (metres).
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import math
import os
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from connectivity import load
from connectivity.atomic import atomic_path, write_text
from connectivity.config import Scenario, read_toml
from connectivity.errors import ConfigError, InputDataError
from connectivity.output import write_geojson
from connectivity.sites import sites_from

log = logging.getLogger(__name__)

WORK_FOLDER = ".inputs"
DEFAULT_MARGIN_M = 500.0
# names of the national outputs in DIR: an area may not take them as its folder name
NATIONAL_FILES = frozenset({"areas.csv", "summary.json", "ducts.gpkg", "overview.html", "timings.json", WORK_FOLDER})
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
# inputs cut with the margin (lines) and inputs given to exactly one area (points, polygons)
_BUFFERED = ("roads", "lines")
_OWNED = ("pois", "sites", "buildings", "poles")


@dataclass(frozen=True)
class Area:
    """One area of a national run.

    Attributes
    ----------
    name
        The name in the areas file.
    folder
        ``name`` made safe as a folder name (``DIR/<folder>/``).
    geometry
        Polygon or MultiPolygon in WGS84 (EPSG:4326).
    province
        The area's ``province`` column when the file has one (operators serve provinces), else None.
    """

    name: str
    folder: str
    geometry: Any
    province: str | None = None


MAX_FOLDER_BYTES = 200
"""Longest area folder name (UTF-8 bytes): file systems allow 255, and the atomic output folder
writes hidden siblings named after it (``.<name>.<random>.tmp``)."""


def folder_name(name: str) -> str:
    """``name`` as a folder name: NFC, whitespace runs as ``_``, no path separators, control or
    Windows-reserved characters, no leading dots or trailing dots/spaces; Thai letters stay."""
    text = unicodedata.normalize("NFC", name).strip()
    text = _UNSAFE.sub("_", text)
    text = re.sub(r"\s+", "_", text)
    return text.lstrip(".").rstrip(". ")


def read_areas(path: str | Path, *, name_column: str = "name") -> list[Area]:
    """The areas of a GeoJSON/GPKG (any vector file) of polygons, sorted by name; a file of several
    layers is read at its polygon layer, or at the one of them named ``areas`` (:func:`load.choose_layer`).

    Raises
    ------
    InputDataError
        On a missing or unreadable file, several layers none of which is clearly the areas, no
        polygons, a geometry that is not a polygon, a missing name column, an empty or duplicate
        name, a name too long for a folder name (:data:`MAX_FOLDER_BYTES`), or two names giving the
        same folder (compared case-insensitively); the message names the file and row.
    """
    path = Path(path)
    gdf = load.read_vector(path, what="areas")   # a file of several layers: its polygon layer, or the one named `areas`
    if len(gdf) == 0:
        raise InputDataError(f"{path}: no areas (the layer is empty)")
    if name_column not in gdf.columns or name_column == gdf.geometry.name:
        cols = ", ".join(c for c in gdf.columns if c != gdf.geometry.name) or "none"
        raise InputDataError(f"{path}: missing column `{name_column}` (the area names; columns: {cols}; "
                             "choose another with --name-column)")
    kinds = gdf.geom_type.to_numpy()
    bad = ~np.isin(kinds, ("Polygon", "MultiPolygon"))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputDataError(f"{load.row_label(path, row)}: areas must be polygons, found {kinds[row]}")
    gdf = gdf.to_crs(load.WGS84)
    provinces = gdf["province"] if "province" in gdf.columns else None
    areas: list[Area] = []
    seen: dict[str, int] = {}
    folders: dict[str, tuple[int, str]] = {}
    for row, (raw, geom) in enumerate(zip(gdf[name_column], gdf.geometry)):
        name = "" if raw is None or (isinstance(raw, float) and math.isnan(raw)) else str(raw).strip()
        if not name:
            raise InputDataError(f"{load.row_label(path, row)}: empty area name (column `{name_column}`)")
        if any(ord(c) < 32 or ord(c) == 127 for c in name):   # a line break would split a progress or CSV line
            raise InputDataError(f"{load.row_label(path, row)}: area name {name!r} holds a control character "
                                 f"(a line break or tab; column `{name_column}`)")
        if name in seen:
            raise InputDataError(f"{load.row_label(path, row)}: duplicate area name {name!r} "
                                 f"(also {load.row_label(path, seen[name]).split(': ', 1)[1]})")
        seen[name] = row
        folder = folder_name(name)
        key = folder.casefold()
        if not folder or key in {n.casefold() for n in NATIONAL_FILES}:
            raise InputDataError(f"{load.row_label(path, row)}: area name {name!r} cannot be a folder name"
                                 + (f" (it is the national output {folder})" if folder else ""))
        if len(folder.encode("utf-8")) > MAX_FOLDER_BYTES:  # the file system's limit is 255, with room for .tmp siblings
            raise InputDataError(f"{load.row_label(path, row)}: area name {name[:40]!r}... is too long for a folder "
                                 f"name ({len(folder.encode('utf-8'))} bytes in UTF-8, at most {MAX_FOLDER_BYTES})")
        if key in folders:
            other_row, other = folders[key]
            raise InputDataError(f"{load.row_label(path, row)}: area {name!r} gives the same folder {folder!r} as "
                                 f"area {other!r} ({load.row_label(path, other_row).split(': ', 1)[1]}); rename one")
        folders[key] = (row, name)
        prov = None
        if provinces is not None and not pd.isna(provinces.iloc[row]) and str(provinces.iloc[row]).strip():
            prov = str(provinces.iloc[row]).strip()
        areas.append(Area(name=name, folder=folder, geometry=geom, province=prov))
    return sorted(areas, key=lambda a: a.name)


def _local_crs(geom) -> Any:
    return gpd.GeoSeries([geom], crs=load.WGS84).estimate_utm_crs()


METRES_PER_DEGREE = 111_320.0   # of latitude (and of longitude at the equator)


def buffered(area: Area, margin_m: float):
    """The area's polygon grown by ``margin_m`` metres (in its UTM zone), in WGS84.

    An area far wider than a UTM zone (a hemisphere, the world) does not survive the round trip
    through the zone (infinite or folded coordinates that miss the area itself): it is grown in
    degrees instead, by at least ``margin_m`` up to latitude 87."""
    if margin_m <= 0:
        return area.geometry
    s = gpd.GeoSeries([area.geometry], crs=load.WGS84)
    grown = s.to_crs(_local_crs(area.geometry)).buffer(margin_m).to_crs(load.WGS84).iloc[0]
    if np.isfinite(grown.bounds).all() and grown.is_valid and grown.covers(area.geometry):
        return grown
    lat = min(max(abs(area.geometry.bounds[1]), abs(area.geometry.bounds[3])), 87.0)
    return area.geometry.buffer(margin_m / (METRES_PER_DEGREE * math.cos(math.radians(lat))))


def owner_index(areas: list[Area], points: np.ndarray) -> np.ndarray:
    """For each point (an array of shapely points, WGS84), the index of the first area (by the
    list's order) that covers it, -1 for none: every point belongs to at most one area."""
    owner = np.full(len(points), -1, dtype=np.int64)
    tree = shapely.STRtree(points)
    for k in range(len(areas) - 1, -1, -1):  # the first area by order written last: it wins ties
        owner[tree.query(areas[k].geometry, predicate="covers")] = k
    return owner


# --------------------------------------------------------------------------- vector / CSV inputs

#: The checks ``connectivity plan`` makes on each input kind when it reads the file, made here once
#: on the whole file: a bad row is one error (exit 2) up front, not a failure of each area.
_CHECKS = {
    "roads": lambda gdf, path, scenario: load.roads_from(gdf, path, highway_exclude=scenario.options.highway_exclude),
    "lines": lambda gdf, path, scenario: load.assets_from(gdf, path, geometry="LineString"),
    "poles": lambda gdf, path, scenario: load.assets_from(gdf, path, geometry="Point"),
    "buildings": lambda gdf, path, scenario: load.buildings_from(gdf, path),
    "sites": lambda gdf, path, scenario: sites_from(gdf, path, scenario.operators),
}


def _read_input(key: str, path: Path, scenario: Scenario) -> gpd.GeoDataFrame:
    """The input file ``key`` (vector or CSV) with all its columns, in WGS84, after the checks
    ``connectivity plan`` makes on it (:data:`_CHECKS`)."""
    gdf = load.read_vector(path, crs=scenario.inputs.crs, what=key)
    if key in _CHECKS:
        _CHECKS[key](gdf, path, scenario)
    return gdf.to_crs(load.WGS84)


def vector_parts(scenario: Scenario, areas: list[Area], margins: list) -> tuple[dict[str, gpd.GeoDataFrame],
                                                                             list[dict[str, np.ndarray]]]:
    """Read each of the scenario's vector/CSV inputs once and decide which rows go to which area:
    the inputs (WGS84, by input key) and, per area, the positions of its rows in each input."""
    inputs: dict[str, gpd.GeoDataFrame] = {}
    rows: list[dict[str, np.ndarray]] = [{} for _ in areas]
    inp = scenario.inputs
    for key in _BUFFERED + _OWNED:
        path = getattr(inp, key)
        if path is None or (key == "roads" and inp.osm is not None and inp.osm.is_file()):
            continue
        gdf = inputs[key] = _read_input(key, path, scenario)
        if key in _OWNED:
            owner = owner_index(areas, np.asarray(gdf.geometry.representative_point().values))
            for k in range(len(areas)):
                rows[k][key] = np.flatnonzero(owner == k)
            if key == "sites" and (owner < 0).any():
                _warn_sites_in_no_area(gdf, owner, path)
        else:
            for k in range(len(areas)):
                rows[k][key] = np.sort(gdf.sindex.query(margins[k], predicate="intersects"))
    return inputs, rows


def _warn_sites_in_no_area(sites: gpd.GeoDataFrame, owner: np.ndarray, path: Path) -> None:
    """Log that the sites of ``sites`` whose ``owner`` (:func:`owner_index`) is -1 lie in no area (outside
    every polygon, or in a hole): no area plans them, so the national figures leave them out."""
    ids = [str(i) for i in sites["site_id"].to_numpy()[owner < 0]]
    listed = ", ".join(ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
    log.warning("%s: %d of %d site(s) lie in no area of the areas file, so no area plans them: %s",
                path, len(ids), len(sites), listed)


def write_vector_parts(inputs: dict[str, gpd.GeoDataFrame], rows: dict[str, np.ndarray], margin, folder: Path
                       ) -> dict[str, str]:
    """Write one area's part of each input (:func:`vector_parts`) as GeoJSON into
    ``folder/<key>.geojson``, the lines cut at the buffered outline ``margin``; returns
    ``{input key: file name}``."""
    files: dict[str, str] = {}
    for key, gdf in inputs.items():
        part = gdf.iloc[rows[key]]
        if key in _BUFFERED and len(part):
            part = part.assign(geometry=part.geometry.intersection(margin))
            part = part[~part.geometry.is_empty].explode(index_parts=False)
            part = part[part.geom_type == "LineString"]
        name = f"{key}.geojson"
        write_geojson(part.reset_index(drop=True), folder / name)
        files[key] = name
    return files


def clip_vectors(scenario: Scenario, areas: list[Area], margins: list, work: Path) -> list[dict[str, str]]:
    """Write each area's part of the scenario's vector/CSV inputs as GeoJSON into
    ``work/<folder>/<key>.geojson``; returns per area ``{input key: file name}``."""
    inputs, rows = vector_parts(scenario, areas, margins)
    return [write_vector_parts(inputs, rows[k], margins[k], work / a.folder) for k, a in enumerate(areas)]


# --------------------------------------------------------------------------- OSM files

class _WayIds:
    """A set of way ids: pyosmium's compact ``IdSet`` for OSM's ids, a Python set for the negative
    ids of unsaved edits (which ``IdSet`` cannot hold)."""

    def __init__(self) -> None:
        import osmium

        self.ids = osmium.index.IdSet()
        self.negative: set[int] = set()

    def add(self, way_id: int) -> None:
        if way_id < 0:
            self.negative.add(way_id)
        else:
            self.ids.set(way_id)

    def __contains__(self, way_id: int) -> bool:
        return way_id in self.negative if way_id < 0 else way_id in self.ids


class _OsmSplit:
    """Which OSM objects go to which area, decided in one streaming pass (ways carry their
    nodes' locations): highway and overhead-line ways with a node in the buffered area, other
    ways and tagged nodes in the one area holding them, the nodes of every chosen way,
    multipolygon relations (buildings) with their member ways.

    Ways and relations are written as they come to a part file per area (``parts``); the
    nodes each area needs are known only once its ways are, so they are kept (ids and
    coordinates; the tagged nodes an area holds, whole) and written by :meth:`finish`.
    """

    def __init__(self, areas: list[Area], margins: list, highway_exclude: frozenset[str], parts: list):
        import osmium

        self.areas, self.margins = areas, margins
        self.exclude = highway_exclude
        self.parts = parts                       # a writer per area: its ways, then its relations
        self.ways = [_WayIds() for _ in areas]
        self.tagged: list[dict[int, Any]] = [{} for _ in areas]    # tagged nodes each area holds
        self.node_ids: list[list[np.ndarray]] = [[] for _ in areas]  # nodes of each area's ways
        self.node_xy: list[list[np.ndarray]] = [[] for _ in areas]   # and their fixed-point x, y
        self.members: list[dict[int, list[int]]] = [{} for _ in areas]  # untagged ways of relations
        self.margin_boxes = np.array([shapely.bounds(m) for m in margins]) if areas else np.zeros((0, 4))
        self.area_boxes = np.array([shapely.bounds(a.geometry) for a in areas]) if areas else np.zeros((0, 4))
        self.member_of: dict[int, int] = {}      # untagged way -> the area owning it (for relations)
        self.member_refs: dict[int, tuple] = {}  # its node ids and their fixed-point x, y
        # fixed-point x, y of nodes with negative ids (unsaved JOSM edits): pyosmium's location
        # cache keeps none for them, so the ways using them get them from here
        self.negative: dict[int, tuple[int, int]] = {}
        for g in list(margins) + [a.geometry for a in areas]:
            shapely.prepare(g)

    def _owner(self, x: float, y: float) -> int:
        boxes = self.area_boxes
        cand = np.flatnonzero((boxes[:, 0] <= x) & (x <= boxes[:, 2]) & (boxes[:, 1] <= y) & (y <= boxes[:, 3]))
        for k in cand:
            if shapely.intersects_xy(self.areas[k].geometry, x, y):
                return int(k)
        return -1

    def _take_nodes(self, k: int, refs: np.ndarray, fx: np.ndarray) -> None:
        self.node_ids[k].append(refs)
        self.node_xy[k].append(fx)

    def node(self, n) -> None:
        if n.id < 0 and n.location.valid():
            self.negative[n.id] = (n.location.x, n.location.y)
        if len(n.tags) == 0:
            return
        loc = n.location
        k = self._owner(loc.lon, loc.lat) if loc.valid() else -1
        if k >= 0:  # a detached copy: the object itself lives only during this call
            self.tagged[k][n.id] = n.replace(tags=dict(n.tags))

    def way(self, w) -> None:
        refs, fx = [], []
        for nd in w.nodes:
            loc = nd.location
            if loc.valid():
                refs.append(nd.ref)
                fx.append((loc.x, loc.y))
            elif nd.ref in self.negative:
                refs.append(nd.ref)
                fx.append(self.negative[nd.ref])
        if not refs:
            return
        fxy = np.asarray(fx, dtype=np.int64)
        xs, ys = fxy[:, 0] / _OSM_PRECISION, fxy[:, 1] / _OSM_PRECISION
        ids = np.asarray(refs, dtype=np.int64)
        tags = w.tags
        if len(tags) == 0:
            k = self._owner(float((xs.min() + xs.max()) / 2), float((ys.min() + ys.max()) / 2))
            if k >= 0:
                self.member_of[w.id], self.member_refs[w.id] = k, (ids, fxy)
            return
        hw = tags.get("highway")
        spread = (hw is not None and hw not in self.exclude) or load._line_kind(dict(tags)) is not None
        if spread:
            b = self.margin_boxes
            cand = np.flatnonzero((b[:, 0] <= xs.max()) & (xs.min() <= b[:, 2]) & (b[:, 1] <= ys.max())
                                  & (ys.min() <= b[:, 3]))
            takers = [int(k) for k in cand if shapely.intersects_xy(self.margins[k], xs, ys).any()]
        else:
            k = self._owner(float((xs.min() + xs.max()) / 2), float((ys.min() + ys.max()) / 2))
            takers = [k] if k >= 0 else []
        for k in takers:
            self.ways[k].add(w.id)
            self.parts[k].add_way(w)
            self._take_nodes(k, ids, fxy)

    def relation(self, r) -> None:
        if r.tags.get("type") not in ("multipolygon", "boundary") or len(r.tags) < 2:
            return
        members = [m.ref for m in r.members if m.type == "w"]
        owners = [self.member_of[m] for m in members if m in self.member_of]
        owners += [k for m in members for k in range(len(self.areas)) if m in self.ways[k]][:1]
        if not owners:
            return
        k = owners[0]
        self.parts[k].add_relation(r)
        for m in members:
            if m in self.member_refs and m not in self.members[k]:
                ids, fxy = self.member_refs[m]
                self.members[k][m] = ids.tolist()
                self._take_nodes(k, ids, fxy)

    def finish(self, k: int, parts: Path, writer) -> None:
        """Write area ``k``'s file: its nodes (by id; tags only on the tagged nodes it holds),
        its ways (those of the part file and the relations' member ways, by id), its relations."""
        import osmium

        ids = np.concatenate(self.node_ids[k]) if self.node_ids[k] else np.zeros(0, dtype=np.int64)
        fxy = np.concatenate(self.node_xy[k]) if self.node_xy[k] else np.zeros((0, 2), dtype=np.int64)
        ids, first = np.unique(ids, return_index=True)
        fxy = fxy[first]
        tagged = self.tagged[k]
        every = np.union1d(ids, np.fromiter(tagged, dtype=np.int64, count=len(tagged)))
        where = np.searchsorted(ids, every)
        Node, Location = osmium.osm.mutable.Node, osmium.osm.Location
        for i, j in zip(every.tolist(), where.tolist()):
            node = tagged.get(i)
            if node is None:
                x, y = fxy[j]
                node = Node(id=i, location=Location(x / _OSM_PRECISION, y / _OSM_PRECISION))
            writer.add_node(node)
        extra = sorted(self.members[k].items())
        e = 0
        for obj in osmium.FileProcessor(str(parts)):
            if obj.is_way():
                while e < len(extra) and extra[e][0] < obj.id:
                    writer.add_way(osmium.osm.mutable.Way(id=extra[e][0], nodes=extra[e][1]))
                    e += 1
                writer.add_way(obj)
            else:
                for way_id, refs in extra[e:]:
                    writer.add_way(osmium.osm.mutable.Way(id=way_id, nodes=refs))
                e = len(extra)
                writer.add_relation(obj)
        for way_id, refs in extra[e:]:
            writer.add_way(osmium.osm.mutable.Way(id=way_id, nodes=refs))


_OSM_PRECISION = 10_000_000  # OSM coordinates are fixed-point, 1e-7 degree


def split_osm(path: Path, areas: list[Area], margins: list, work: Path, *,
              highway_exclude: tuple[str, ...] = ()) -> list[str]:
    """Split an ``.osm``/``.osm.pbf`` file into one ``work/<folder>/roads.osm.pbf`` per area.

    One streaming pass with pyosmium over the file (node locations cached for the ways):
    each area's ways and relations go to a part file as they come, and its nodes are
    written with them at the end. Tagged nodes (points of interest, poles) keep their tags
    only in the area that holds them; elsewhere (as nodes of a margin road) they are written
    without tags. Returns the file name per area (see :func:`split_osm_areas`, which hands out
    each area as soon as its file is written).

    Raises
    ------
    InputDataError
        When the file cannot be read as OSM data (one line naming the file).
    """
    for _ in split_osm_areas(path, areas, margins, work, highway_exclude=highway_exclude):
        pass
    return [OSM_NAME] * len(areas)


OSM_NAME = "roads.osm.pbf"


def split_osm_areas(path: Path, areas: list[Area], margins: list, work: Path, *,
                    highway_exclude: tuple[str, ...] = (), weight: Any = None) -> Iterator[int]:
    """:func:`split_osm`, yielding the index of each area as soon as its ``roads.osm.pbf`` is
    complete: after the one pass over the file (an area's nodes and relations are known only
    at its end), the areas with the most way nodes (plus ``weight[k]``, e.g. other inputs'
    rows) first, ties in the order of ``areas``."""
    import osmium

    path = load._check_file(path)
    part_name = "roads.parts.osm.pbf"
    parts = [work / a.folder / part_name for a in areas]
    try:
        with contextlib.ExitStack() as stack:
            writers = []
            for p in parts:
                p.parent.mkdir(parents=True, exist_ok=True)
                p.unlink(missing_ok=True)  # osmium refuses to overwrite a file
                writers.append(osmium.SimpleWriter(str(p)))
                stack.callback(writers[-1].close)
            split = _OsmSplit(areas, margins, frozenset(highway_exclude), writers)
            load.scan_osm(path, split)
        size = [sum(len(a) for a in split.node_ids[k]) + (0 if weight is None else int(weight[k]))
                for k in range(len(areas))]
        for k in sorted(range(len(areas)), key=lambda k: (-size[k], k)):
            with atomic_path(work / areas[k].folder / OSM_NAME) as tmp:
                tmp.unlink()
                writer = osmium.SimpleWriter(str(tmp))
                try:
                    split.finish(k, parts[k], writer)
                finally:
                    writer.close()  # before the rename onto the area's file
            parts[k].unlink(missing_ok=True)
            yield k
    finally:
        for p in parts:
            p.unlink(missing_ok=True)


# --------------------------------------------------------------------------- scenario per area

def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (_dt.date, _dt.time)):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + "}"
    raise ConfigError(f"cannot write {type(v).__name__} value {v!r} into a scenario TOML")


def dump_toml(data: dict[str, Any]) -> str:
    """TOML text of a parsed scenario (tables one level deep, arrays of tables, inline tables below)."""
    def is_tables(v: Any) -> bool:
        return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)

    lines = [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in data.items()
             if not isinstance(v, dict) and not is_tables(v)]
    for k, v in data.items():
        if isinstance(v, dict):
            lines += ["", f"[{_toml_key(k)}]"] + [f"{_toml_key(a)} = {_toml_value(b)}" for a, b in v.items()]
        elif is_tables(v):
            for t in v:
                lines += ["", f"[[{_toml_key(k)}]]"] + [f"{_toml_key(a)} = {_toml_value(b)}" for a, b in t.items()]
    return "\n".join(lines) + "\n"


def area_scenario_text(scenario: Scenario, area: Area, files: dict[str, str], folder: Path) -> str:
    """The scenario TOML of one area: the scenario's own tables with ``[inputs]`` naming the
    clipped files (and the operators file and cost model relative to ``folder``), its hubs
    inside the area only, ``name`` ``"<scenario> - <area>"``, the area's province if given."""
    raw = read_toml(scenario.path) if scenario.path is not None else {}
    data = {k: v for k, v in raw.items() if k not in ("inputs", "hubs")}
    data["name"] = f"{scenario.name} - {area.name}"
    if area.province is not None:
        data["province"] = area.province
    inputs: dict[str, Any] = {}
    for key in ("osm",) + _BUFFERED + _OWNED:
        if key in files:
            inputs[key] = files[key]
    for key, p in (("operators", scenario.operators_path), ("cost_model", scenario.cost_model)):
        if p is not None and "inputs" in raw and key in raw["inputs"]:
            inputs[key] = Path(os.path.relpath(Path(p).resolve(), folder.resolve())).as_posix()
    data["inputs"] = inputs
    hubs = {op: list(xy) for op, xy in scenario.hubs.items() if area.geometry.covers(shapely.Point(xy))}
    if hubs:
        data["hubs"] = hubs
    order = ["name", "province", "inputs", "options", "hubs"]
    return dump_toml({k: data[k] for k in order if k in data} | {k: v for k, v in data.items() if k not in order})


def prepare(scenario: Scenario, areas: list[Area], out: Path, *, margin_m: float = DEFAULT_MARGIN_M) -> list[Path]:
    """Cut the scenario's inputs into ``out/.inputs/<area>/`` and write each area's scenario
    TOML there; returns the scenario paths (in the order of ``areas``). See :func:`cut`."""
    paths: list[Path | None] = [None] * len(areas)
    for k, path in cut(scenario, areas, out, margin_m=margin_m):
        paths[k] = path
    return paths  # type: ignore[return-value]


def cut(scenario: Scenario, areas: list[Area], out: Path, *,
        margin_m: float = DEFAULT_MARGIN_M) -> Iterator[tuple[int, Path]]:
    """Cut the scenario's inputs into ``out/.inputs/<area>/``, handing out each area as soon as its
    inputs and scenario TOML are written: ``(index in areas, scenario path)``, so that it can be
    planned while the others are cut.

    The inputs are read (and an OSM file split) once, before the first area; then the areas go
    out largest first (by the number of road features, or of OSM way nodes, plus the other
    inputs' rows: a worker should not start a big area when the others are done), ties in the
    order of ``areas``. What an area's files hold does not depend on that order.

    Raises
    ------
    ConfigError
        When the scenario has no local road file (``bbox``/``place`` downloads are not split).
    InputDataError
        When an input file cannot be read (both before the first area is handed out).
    """
    inp = scenario.inputs
    has_osm = inp.osm is not None and inp.osm.is_file()
    if not has_osm and not (inp.roads is not None and inp.roads.is_file()):
        missing = inp.osm or inp.roads
        raise ConfigError(f"{scenario.path}: plan-areas needs a local road file (inputs.osm or inputs.roads)"
                          + (f"; {missing} not found" if missing else ""))
    work = out / WORK_FOLDER
    margins = [buffered(a, margin_m) for a in areas]
    inputs, rows = vector_parts(scenario, areas, margins)   # read and checked before any folder is made
    for area in areas:
        (work / area.folder).mkdir(parents=True, exist_ok=True)
    weight = [sum(len(r) for r in rows[k].values()) for k in range(len(areas))]
    if has_osm:
        order: Iterator[int] = split_osm_areas(inp.osm, areas, margins, work, weight=weight,
                                               highway_exclude=scenario.options.highway_exclude)
    else:
        order = iter(sorted(range(len(areas)), key=lambda k: (-weight[k], k)))
    for k in order:
        area, folder = areas[k], work / areas[k].folder
        files = write_vector_parts(inputs, rows[k], margins[k], folder)
        if has_osm:
            files["osm"] = OSM_NAME
        text = area_scenario_text(scenario, area, files, folder)
        path = folder / "scenario.toml"
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            write_text(path, text)
        yield k, path
