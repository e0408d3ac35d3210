"""Loading stage: roads, poles, overhead lines, sites and buildings into GeoDataFrames.

Every reader returns layers in WGS84 (EPSG:4326) unless the source states another CRS;
projection to metres happens in :mod:`connectivity.network`. This is the only module
that touches the network (Overpass through osmnx) and the only one that reads OSM files.
"""
from __future__ import annotations

import bz2
import csv
import gzip
import io
import logging
import math
import re
import warnings
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from itertools import chain, groupby
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from shapely import wkb

from connectivity.config import not_metres
from connectivity.errors import CRSError, InputDataError, not_a_file

log = logging.getLogger(__name__)

WGS84 = "EPSG:4326"
OSM_ATTRIBUTION = "© OpenStreetMap contributors"
ROAD_COLUMNS = ("highway", "name", "ref", "surface", "lanes", "width", "bridge", "tunnel", "layer", "osm_id")
# OSM keys kept on points of interest (site selection rules may use any of them).
SIMPLIFY_KEEP = ("highway", "name", "ref", "surface", "lanes", "width", "bridge", "tunnel", "layer")
POI_KEYS = ("amenity", "office", "power", "telecom", "man_made", "building", "healthcare",
            "government", "communication:mobile_phone", "tower:type", "name", "operator", "voltage")
_NAN = float("nan")
POLE_TAGS = {"power": {"pole", "tower", "portal"}}
LINE_TAGS = {"power": {"line", "minor_line", "cable"}, "telecom": {"line", "cable"}}
VECTOR_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".fgb", ".gml", ".kml"}


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


def _check_file(path: Path) -> Path:
    path = Path(path)
    problem = not_a_file(path)
    if problem:
        raise InputDataError(f"{path}: {problem}")
    if path.stat().st_size == 0:
        raise InputDataError(f"{path}: file is empty")
    return path


# --------------------------------------------------------------------------- OSM files
def _is_pole(tags: dict[str, str]) -> str | None:
    if tags.get("power") in POLE_TAGS["power"]:
        return tags["power"]
    if tags.get("man_made") in {"mast", "tower"} and (
            tags.get("tower:type") == "communication" or "communication" in tags.get("tower:type", "")
            or any(k.startswith("communication") for k in tags)):
        return "mast"
    if "telecom" in tags and tags.get("telecom") not in {"line", "cable"}:
        return f"telecom_{tags['telecom']}"
    return None


def _line_kind(tags: dict[str, str]) -> str | None:
    for key, values in LINE_TAGS.items():
        if tags.get(key) in values:
            return f"{key}_{tags[key]}"
    return None


_UNDEFINED = 2147483647   # libosmium's coordinate of a location it never read (a node missing from the file)


class _OutOfRange(Exception):
    """A node of an OSM file lies outside the lon/lat range (``lat="95"``): the file is corrupt.
    :func:`scan_osm` turns it into one :class:`InputDataError` line naming the file."""


def _check_location(loc, node_id: int, way_id: int | None = None) -> bool:
    """Whether ``loc`` is a usable location: False for a node missing from the file (no location
    read); a location read but outside the lon/lat range raises :class:`_OutOfRange` naming the node."""
    if loc.valid():
        return True
    if loc.x == _UNDEFINED or loc.y == _UNDEFINED:
        return False
    of = f" (of way/{way_id})" if way_id is not None else ""
    raise _OutOfRange(f"node/{node_id}{of} lies at lon {loc.lon_without_check():g}, lat {loc.lat_without_check():g}: "
                      "outside the lon/lat range")


class _Collector:
    """One pass over an OSM file with pyosmium, sorting objects into layers."""

    def __init__(self, highway_exclude: frozenset[str], deleted_nodes: frozenset[int] = frozenset()):
        self.highway_exclude = highway_exclude
        self.deleted_nodes = deleted_nodes   # their ways treat them as missing (see :func:`_deleted_in_xml`)
        self.highway_ways = 0
        self.left_out: dict[str, int] = {}   # highway ways not read as roads, by class ("service (area)")
        # highway ways: id, SIMPLIFY_KEEP tag values, node refs, lon/lat (NaN where the node is missing)
        self.way_ids: list[int] = []
        self.way_tags: list[tuple] = []
        self.way_refs: list[list[int]] = []
        self.way_coords: list[list[tuple[float, float]]] = []
        self.pois: list[dict] = []
        self.buildings: list[dict] = []
        self.poles: list[dict] = []
        self.lines: list[dict] = []
        # overhead lines using a node without a location: (row without geometry, node refs,
        # locations: None where unknown)
        self.unlocated_lines: list[tuple[dict, list[int], list[tuple[float, float] | None]]] = []
        # negative node ids (unsaved JOSM edits) used without a location: pyosmium's
        # location cache keeps none for them, a second pass looks them up (:meth:`locate`)
        self.unlocated: set[int] = set()
        self.at_zero: set[int] = set()   # nodes used at lon or lat exactly 0 (see :meth:`_located`)
        self.factory = __import__("osmium").geom.WKBFactory()
        self.nowhere = __import__("osmium").osm.Location()   # the location of a node missing from the file

    def _location(self, n):
        """The location of the way node ``n``; none (as of a node missing from the file) when it is deleted."""
        return self.nowhere if n.ref in self.deleted_nodes else n.location

    def _located(self, loc, node_id: int, way_id: int | None = None) -> bool:
        """:func:`_check_location`, noting the nodes at lon or lat exactly 0: libosmium reads an XML
        coordinate with a huge exponent (``lat="1e300"``) as 0, so :func:`_scan_osm` reads their text."""
        if not _check_location(loc, node_id, way_id):
            return False
        if loc.x == 0 or loc.y == 0:
            self.at_zero.add(node_id)
        return True

    def node(self, n) -> None:
        tags = dict(n.tags)
        if not tags:
            return
        self._located(n.location, n.id)
        pt = shapely.Point(n.location.lon, n.location.lat)
        kind = _is_pole(tags)
        if kind:
            self.poles.append({"osm_id": f"node/{n.id}", "kind": kind,
                               "owner": tags.get("operator", ""), "geometry": pt})
        if any(k in tags for k in POI_KEYS if k not in ("name", "operator", "voltage")):
            self.pois.append({"osm_id": f"node/{n.id}", **{k: tags.get(k) for k in POI_KEYS}, "geometry": pt})

    def way(self, w) -> None:
        tags = dict(w.tags)
        hw = tags.get("highway")
        if hw and (hw in self.highway_exclude or tags.get("area") == "yes"):
            name = hw if hw in self.highway_exclude else f"{hw} (area=yes)"
            self.left_out[name] = self.left_out.get(name, 0) + 1
        elif hw:
            self.highway_ways += 1
            self.way_ids.append(w.id)
            self.way_tags.append(tuple(tags.get(k) for k in SIMPLIFY_KEEP))
            refs, coords = [], []
            for n in w.nodes:
                refs.append(n.ref)
                loc = self._location(n)
                if self._located(loc, n.ref, w.id):
                    coords.append((loc.lon, loc.lat))
                else:
                    coords.append((_NAN, _NAN))
                    if n.ref < 0:
                        self.unlocated.add(n.ref)
            self.way_refs.append(refs)
            self.way_coords.append(coords)
        kind = _line_kind(tags)
        if kind and len(w.nodes) >= 2:
            row = {"osm_id": f"way/{w.id}", "kind": kind, "owner": tags.get("operator", "")}
            locs = [self._location(n) for n in w.nodes]
            if all([self._located(loc, n.ref, w.id) for n, loc in zip(w.nodes, locs)]):
                self.lines.append(row | {"geometry": wkb.loads(self.factory.create_linestring(w), hex=True)})
            else:
                at = [(loc.lon, loc.lat) if loc.valid() else None for loc in locs]
                self.unlocated_lines.append((row, [n.ref for n in w.nodes], at))
                self.unlocated.update(n.ref for n, loc in zip(w.nodes, locs) if n.ref < 0 and not loc.valid())

    def locate(self, at: dict[int, tuple[float, float]], path: Path) -> None:
        """Give the ways the node locations ``at`` (node id -> lon, lat) that the pass lacked. An
        overhead line still missing some keeps its parts between the nodes present (each of two
        nodes or more a row of its own, same id), with a warning naming it; one with no such part
        is skipped (roads: see :func:`_road_edges`)."""
        for refs, coords in zip(self.way_refs, self.way_coords) if at else ():
            for i, ref in enumerate(refs):
                if ref in at and math.isnan(coords[i][0]):
                    coords[i] = at[ref]
        cut, skipped = [], []
        for row, refs, known in self.unlocated_lines:
            coords = [xy if xy is not None else at.get(ref) for ref, xy in zip(refs, known)]
            parts = [list(g) for present, g in groupby(coords, key=lambda xy: xy is not None) if present]
            parts = [p for p in parts if len(p) >= 2]
            self.lines.extend(row | {"geometry": shapely.LineString(p)} for p in parts)
            if None in coords:
                (cut if parts else skipped).append(row["osm_id"])
        for ids, what in ((skipped, "skipped %d overhead line(s) that use nodes missing from the file: %s"),
                          (cut, "%d overhead line(s) use nodes missing from the file; kept their parts between "
                                "the nodes present: %s")):
            if ids:
                log.warning("%s: " + what, path, len(ids), _first_ten(ids))

    def area(self, a) -> None:
        tags = dict(a.tags)
        osm_id = f"{'way' if a.from_way() else 'relation'}/{a.orig_id()}"
        try:
            geom = wkb.loads(self.factory.create_multipolygon(a), hex=True)
        except Exception:  # broken multipolygon in OSM: skip it, as osmium does
            log.debug("skipping invalid area %s", osm_id)
            return
        if "building" in tags:
            self.buildings.append({"osm_id": osm_id, "building": tags["building"], "geometry": geom})
        if any(k in tags for k in POI_KEYS if k not in ("name", "operator", "voltage", "building")):
            self.pois.append({"osm_id": osm_id, **{k: tags.get(k) for k in POI_KEYS},
                              "geometry": geom.representative_point()})


def _scan_osm(path: Path, highway_exclude: frozenset[str]) -> _Collector:
    import osmium

    deleted = _deleted_in_xml(path)
    col = _Collector(highway_exclude, frozenset(deleted["n"]))
    # untagged nodes still give ways their locations, but never reach Python
    scan_osm(path, col, areas=True, filters=(osmium.filter.EmptyTagFilter(),), deleted=deleted)
    found = _NodeLocations(col.unlocated)
    if col.unlocated:   # negative ids (files with them are small edits): a second pass over the nodes
        scan_osm(path, found, locations=False, filters=(osmium.filter.EntityFilter(osmium.osm.NODE),),
                 deleted=deleted)
    if col.at_zero or found.at_zero:
        _check_zero_nodes(path, col.at_zero | found.at_zero)
    col.locate(found.at, path)
    return col


class _NodeLocations:
    """Node id -> (lon, lat) of the nodes ``wanted`` that a pass sees."""

    def __init__(self, wanted: set[int]) -> None:
        self.wanted = wanted
        self.at: dict[int, tuple[float, float]] = {}
        self.at_zero: set[int] = set()   # of them, those at lon or lat exactly 0 (see :meth:`_Collector._located`)

    def node(self, n) -> None:
        if n.id in self.wanted and n.location.valid():
            self.at[n.id] = (n.location.lon, n.location.lat)
            if n.location.x == 0 or n.location.y == 0:
                self.at_zero.add(n.id)


def scan_osm(path: str | Path, handler: object, *, locations: bool = True, areas: bool = False,
             filters: tuple = (), deleted: dict[str, set[int]] | None = None) -> None:
    """One streaming pyosmium pass over the OSM file ``path``: every live node, way, area and relation
    goes to ``handler``'s method of that name (``node``, ``way``, ``area``, ``relation``), where it
    has one. Deleted objects (``visible="false"``, JOSM's ``action="delete"``; an area of a deleted
    way or relation) are left out; a way keeps its deleted nodes' locations, though: handlers that
    must treat them as missing look them up in :func:`_deleted_in_xml`.

    Parameters
    ----------
    locations
        Ways carry their nodes' locations.
    areas
        Closed ways and multipolygon relations are also assembled into areas.
    filters
        pyosmium filters applied before Python sees an object.
    deleted
        :func:`_deleted_in_xml` of ``path``, when the caller has it already.

    Raises
    ------
    InputDataError
        When pyosmium cannot read the file (or a node's lat/lon is not a number, an id not a 64-bit
        integer), or a node lies outside the lon/lat range: one line naming the file (and the node).
    """
    import osmium

    def ignore(obj) -> None:
        pass

    node, way, area, relation = (getattr(handler, kind, ignore) for kind in ("node", "way", "area", "relation"))
    fp = osmium.FileProcessor(str(path))
    if locations:
        fp = fp.with_locations()
    if areas:
        fp = fp.with_areas()
    for f in filters:
        fp = fp.with_filter(f)
    gone = _deleted_in_xml(Path(path)) if deleted is None else deleted
    try:
        for obj in _read_objects(fp, path):
            if not _live(obj, gone):
                continue
            if obj.is_node():
                node(obj)
            elif obj.is_way():
                way(obj)
            elif obj.is_area():
                area(obj)
            elif obj.is_relation():
                relation(obj)
    except osmium.InvalidLocationError as exc:  # a handler read the location of a node without one
        raise InputDataError(f"{path}: not a readable OSM file ({str(exc).splitlines()[0]})") from None
    except _OutOfRange as exc:
        raise InputDataError(f"{path}: {exc}") from None


def _read_objects(fp, path: Path) -> Iterator:
    """The objects of the pyosmium ``FileProcessor`` ``fp`` reading ``path``; what the reader
    refuses is one :class:`InputDataError` line naming the file (errors of the code using the
    objects are left alone: bugs, not bad input)."""
    import osmium

    objects = iter(fp)
    while True:
        try:
            obj = next(objects, None)
        except (RuntimeError, osmium.InvalidLocationError, ValueError) as exc:
            # RuntimeError: not OSM data; InvalidLocationError: a lat/lon not a number ("nan");
            # ValueError: an id or version beyond 64 bits ("illegal id: '99999999999999999999'")
            said = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InputDataError(f"{path}: not a readable OSM file ({said}{_node_of(exc, path)})") from None
        if obj is None:
            return
        yield obj


def _live(obj, deleted: dict[str, set[int]]) -> bool:
    """Whether the OSM object ``obj`` is live data: visible, and not ``deleted`` (ids by type,
    ``n``, ``w``, ``r``); an area is when the way or relation it was made from is."""
    if not getattr(obj, "visible", True):   # a changeset has no such flag
        return False
    if obj.is_area():
        return obj.orig_id() not in deleted["w" if obj.from_way() else "r"]
    return obj.id not in deleted.get(obj.type_str(), ())


def _deleted_in_xml(path: Path) -> dict[str, set[int]]:
    """Ids of the deleted objects of the OSM XML file ``path``, by type (``n``, ``w``, ``r``):
    ``visible="false"`` (deleted objects; pyosmium's location cache keeps such nodes' locations for
    the ways) and JOSM's ``action="delete"`` (deleted locally, not uploaded yet; libosmium's reader
    does not pass the attribute on). Empty for another format (PBF)."""
    deleted: dict[str, set[int]] = {"n": set(), "w": set(), "r": set()}
    for element, at in _xml_start_tags(path, (b"action", b"visible=\"false\"", b"visible='false'")):
        if at.get("action") == "delete" or at.get("visible") == "false":
            try:
                deleted[element[0]].add(int(at.get("id", "")))
            except ValueError:   # no id libosmium reads either: it says so
                pass
    return deleted


def _check_zero_nodes(path: Path, ids: set[int]) -> None:
    """Raise :class:`InputDataError` naming the first node of ``ids`` (read at lon or lat exactly 0)
    whose lon/lat text in the OSM XML file ``path`` is not a finite number of degrees within range:
    libosmium reads a coordinate with a huge exponent (``lat="1e300"``) as 0, without a word."""
    wanted = {str(i) for i in ids}
    for node_id, lon, lat in _xml_nodes(path):
        problem = node_id in wanted and _coordinate_problem(lon, lat)
        if problem:
            raise InputDataError(f"{path}: node/{node_id} lies at lon {lon}, lat {lat}: {problem}")


def _node_of(exc: Exception, path: Path) -> str:
    """``"; node/ID"`` of the first node of the OSM XML file ``path`` with the coordinate text that
    the reader's :class:`osmium.InvalidLocationError` ``exc`` quotes (``'nan'``); "" otherwise."""
    import osmium

    quoted = re.search(r"'(.*)'", str(exc)) if isinstance(exc, osmium.InvalidLocationError) else None
    if quoted is None:
        return ""
    try:
        return next((f"; node/{i}" for i, lon, lat in _xml_nodes(path) if quoted.group(1) in (lon, lat)), "")
    except InputDataError:   # the file's text cannot be read either: the reader's words say it
        return ""


def _coordinate_problem(lon: str, lat: str) -> str | None:
    """What is wrong with a node's lon/lat text (degrees): not a number, not finite, or outside the
    lon/lat range; None when nothing is."""
    try:
        x, y = float(lon), float(lat)
    except ValueError:
        return "not a number"
    if not (math.isfinite(x) and math.isfinite(y)):
        return "not a finite number"
    return None if abs(x) <= 180 and abs(y) <= 90 else "outside the lon/lat range"


_XML_CHUNK = 1 << 24   # bytes of an OSM XML file looked at at once
_XML_START = re.compile(rb"<(node|way|relation)\s[^>]*>")
_XML_ATTRIBUTE = re.compile(rb"""([\w:]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def _xml_start_tags(path: Path, hints: tuple[bytes, ...]) -> Iterator[tuple[str, dict[str, str]]]:
    """The element (``node``, ``way`` or ``relation``) and attributes of each start tag holding one of
    ``hints`` in the OSM XML file ``path`` (``.osm``, also gzip or bzip2 compressed; nothing for PBF).

    This reads what libosmium's reader does not pass on: the text of a coordinate (it reads
    ``lat="1e300"`` as 0) and JOSM's ``action``. Chunks of the file holding no hint are not parsed."""
    opener = _xml_opener(path)
    if opener is None:
        return
    try:
        with opener(path, "rb") as f:
            rest = b""
            for chunk in chain(iter(lambda: f.read(_XML_CHUNK), b""), [b""]):
                buf = rest + chunk
                cut = buf.rfind(b"<") if chunk else -1   # a tag may go on in the next chunk
                body, rest = (buf[:cut], buf[cut:]) if cut >= 0 else (buf, b"")
                if any(h in body for h in hints):
                    yield from _xml_start_tags_in(body, hints)
    except (OSError, EOFError, zlib.error) as exc:   # a broken .gz or .bz2 file
        raise InputDataError(f"{path}: not a readable OSM file ({exc})") from None


def _xml_start_tags_in(text: bytes, hints: tuple[bytes, ...]) -> Iterator[tuple[str, dict[str, str]]]:
    """:func:`_xml_start_tags` of a piece ``text`` of an OSM XML file."""
    for m in _XML_START.finditer(text):
        if any(h in m.group(0) for h in hints):
            yield m.group(1).decode(), {k.decode(): (a or b).decode("utf-8", "replace")
                                        for k, a, b in _XML_ATTRIBUTE.findall(m.group(0))}


def _xml_opener(path: Path):
    """How to open the OSM XML file ``path`` (``open``, ``gzip.open``, ``bz2.open``), told by its name
    as libosmium tells formats; None for another format (PBF, whose ids and coordinates are binary)."""
    name, opener = path.name.lower(), open
    for suffix, compressed in ((".gz", gzip.open), (".bz2", bz2.open)):
        if name.endswith(suffix):
            name, opener = name[:-len(suffix)], compressed
    return opener if name.endswith((".osm", ".osc", ".osh", ".xml")) else None


def _xml_nodes(path: Path) -> Iterator[tuple[str, str, str]]:
    """Id, lon and lat, as written, of each node of the OSM XML file ``path`` that has a lon or lat."""
    for element, at in _xml_start_tags(path, (b"lat", b"lon")):
        if element == "node" and ("lat" in at or "lon" in at):
            yield at.get("id", "?"), at.get("lon", ""), at.get("lat", "")


def _road_edges(col: _Collector, path: Path) -> gpd.GeoDataFrame:
    """Road edges between graph nodes, built from the highway ways the scan collected.

    This is the graph osmnx built from the same ways (``bidirectional=True``, then
    ``simplify_graph(edge_attrs_differ=SIMPLIFY_KEEP)``), without osmnx:

    * a node is an *endpoint* unless it has exactly two neighbours, through exactly two
      way segments carrying the same :data:`SIMPLIFY_KEEP` tag values (so dead ends,
      junctions, parallel segments and attribute changes all stay);
    * ways are cut at endpoints, and pieces that meet end to end at a non-endpoint (two
      ways continuing each other with the same tags) are merged into one edge, whose
      ``osm_id`` is the first way of the set of merged ways, as osmnx lists them;
    * closed rings touching no endpoint (a block of streets or a roundabout joined to no
      other road) are kept, each as one loop edge after the others (osmnx's ``remove_rings``
      dropped them; ``area=yes`` ways are no roads at all); a loop back to the same endpoint
      is kept once per direction, as osmnx did (the network stage merges the two);
    * rows come in the order, and run in the direction, of osmnx's edge table (see
      :func:`_osmnx_order`): the design heuristics break ties by edge order, so the same
      order keeps plans identical to the ones the osmnx route gave.

    A way that uses nodes missing from the file (an extract cut at its edge, or an Overpass
    answer without its ways' nodes) keeps its parts between them: it is cut at each missing node
    and the parts of two nodes or more are read as ways of their own (same id and tags), with a
    warning naming the ways.
    """
    lens = np.fromiter((len(r) for r in col.way_refs), np.int64, len(col.way_refs))
    refs = np.fromiter(chain.from_iterable(col.way_refs), np.int64, int(lens.sum()))
    xy = np.array(list(chain.from_iterable(col.way_coords)), dtype=float).reshape(-1, 2)
    way_of, way_ids, way_tags = _way_parts(col, lens, np.isnan(xy[:, 0]), path)
    keep = ~np.isnan(xy[:, 0])
    # drop consecutive repeats of a node within a way (as osmnx does)
    keep[1:] &= ~((way_of[1:] == way_of[:-1]) & (refs[1:] == refs[:-1]))
    refs, xy, way_of = refs[keep], xy[keep], way_of[keep]
    seg = np.flatnonzero(way_of[1:] == way_of[:-1])  # segment p -> p + 1
    if len(seg) == 0:
        raise InputDataError(f"{path}: no roads (no highway=* way with two usable nodes) in this OSM file")
    node_ids, node = np.unique(refs, return_inverse=True)
    node = node.ravel()
    n = len(node_ids)
    ea, eb = node[seg], node[seg + 1]
    _, group = np.unique(np.array([repr(t) for t in way_tags]), return_inverse=True)
    eg = group.ravel()[way_of[seg]]
    incidences = np.bincount(ea, minlength=n) + np.bincount(eb, minlength=n)
    pairs = np.unique(np.column_stack([np.minimum(ea, eb), np.maximum(ea, eb)]), axis=0)
    neighbours = np.bincount(pairs.ravel(), minlength=n)
    gmin = np.full(n, np.iinfo(np.int64).max)
    gmax = np.full(n, -1)
    for ends in (ea, eb):
        np.minimum.at(gmin, ends, eg)
        np.maximum.at(gmax, ends, eg)
    endpoint = ~((incidences == 2) & (neighbours == 2) & (gmin == gmax))

    # chains: pieces of ways between consecutive cut positions (endpoints and way ends)
    way_start = np.r_[True, way_of[1:] != way_of[:-1]]
    way_end = np.r_[way_of[1:] != way_of[:-1], True]
    cuts = np.flatnonzero(endpoint[node] | way_start | way_end)
    same = way_of[cuts[:-1]] == way_of[cuts[1:]]
    cs, ce = cuts[:-1][same], cuts[1:][same]
    sn, en = node[cs], node[ce]
    ends_at: dict[int, list[tuple[int, int]]] = {}
    for c in np.flatnonzero(~endpoint[sn]).tolist():
        ends_at.setdefault(int(sn[c]), []).append((c, 0))
    for c in np.flatnonzero(~endpoint[en]).tolist():
        ends_at.setdefault(int(en[c]), []).append((c, 1))
    end_is_endpoint = endpoint[en].tolist()
    start_is_endpoint = endpoint[sn].tolist()
    sn_l, en_l = sn.tolist(), en.tolist()
    visited = np.zeros(len(cs), dtype=bool)
    walks: list[list[tuple[int, bool]]] = []
    for c in range(len(cs)):
        if visited[c] or not (start_is_endpoint[c] or end_is_endpoint[c]):
            continue
        cur, fwd, walk = c, start_is_endpoint[c], []
        while True:
            visited[cur] = True
            walk.append((cur, fwd))
            if end_is_endpoint[cur] if fwd else start_is_endpoint[cur]:
                break
            a, b = ends_at[en_l[cur] if fwd else sn_l[cur]]
            nxt = b if a == (cur, 1 if fwd else 0) else a
            cur, fwd = nxt[0], nxt[1] == 0
        walks.append(walk)
    rows = _osmnx_order(walks, node, node_ids, endpoint, ea, eb, seg, way_of, cs, ce, sn_l, en_l)
    rings = _ring_walks(visited, ends_at, sn_l, en_l)
    if rings:
        log.info("%s: %d closed ring(s) of streets joined to no other road kept as roads", path.name, len(rings))
    rows += [(len(walks) + k, True) for k in range(len(rings))]   # after osmnx's edges: their order unchanged
    walks += rings

    cs_l, ce_l = cs.tolist(), ce.tolist()
    chain_way = way_of[cs].tolist()
    pieces, owner, first_way, tags = [], [], [], []
    for k, (w, forward) in enumerate(rows):
        walk = walks[w] if forward else [(c, not f) for c, f in reversed(walks[w])]
        ways = []
        for j, (c, fwd) in enumerate(walk):
            idx = np.arange(cs_l[c], ce_l[c] + 1) if fwd else np.arange(ce_l[c], cs_l[c] - 1, -1)
            pieces.append(idx if j == 0 else idx[1:])
            owner.append(np.full(len(idx) - (j > 0), k))
            ways.append(way_ids[chain_way[c]])
        # osmnx lists the distinct ways of a merged edge as list(set(...)); we kept the first
        first_way.append(next(iter(set(ways))))
        tags.append(way_tags[chain_way[walk[0][0]]])
    if not rows:
        raise InputDataError(f"{path}: no roads (the highway=* ways only form closed rings) in this OSM file")
    allpos = np.concatenate(pieces)
    geoms = shapely.linestrings(xy[allpos], indices=np.concatenate(owner))
    out = {"osm_id": [f"way/{w}" for w in first_way]}
    for j, name in enumerate(SIMPLIFY_KEEP):
        out[name] = [t[j] for t in tags]
    out = {c: out[c] for c in ("osm_id",) + ROAD_COLUMNS[:-1]}
    return gpd.GeoDataFrame(out, geometry=geoms, crs=WGS84)


def _ring_walks(visited: np.ndarray, ends_at: dict[int, list[tuple[int, int]]], sn_l: list[int],
                en_l: list[int]) -> list[list[tuple[int, bool]]]:
    """The chains no walk between endpoints reached (``visited`` False): closed rings of ways with no
    endpoint (a block of streets, a roundabout, joined to no other road). Each ring is one walk
    ``[(chain, forward), ...]`` from the start of its lowest chain back to it (a loop edge, which
    the network stage splits)."""
    seen, rings = visited.copy(), []
    for first in np.flatnonzero(~visited).tolist():
        if seen[first]:
            continue
        cur, fwd, walk = first, True, []
        while True:
            seen[cur] = True
            walk.append((cur, fwd))
            a, b = ends_at[en_l[cur] if fwd else sn_l[cur]]
            cur, end = b if a == (cur, 1 if fwd else 0) else a
            fwd = end == 0
            if cur == first:
                break
        rings.append(walk)
    return rings


def _first_ten(names: list[str]) -> str:
    """The first ten names, and how many more."""
    return ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")


def _way_parts(col: _Collector, lens: np.ndarray, missing: np.ndarray, path: Path
               ) -> tuple[np.ndarray, list[int], list[tuple]]:
    """Cut the highway ways at their nodes missing from the file.

    ``lens``: nodes per way; ``missing``: per node reference of the ways, in order, whether its
    location is unknown. Returns, per node reference, the index of its part, and per part the
    OSM id and tags of its way. Without missing nodes the parts are the ways."""
    way_of = np.repeat(np.arange(len(lens)), lens)
    if not missing.any():
        return way_of, col.way_ids, col.way_tags
    starts = np.r_[True, way_of[1:] != way_of[:-1]] | np.r_[False, missing[:-1]]
    part = np.cumsum(starts) - 1
    part_way = way_of[starts].tolist()
    # ways with a part of two present nodes or more: a present node after a present one
    kept = np.unique(way_of[1:][~missing[1:] & ~missing[:-1] & (way_of[1:] == way_of[:-1])])
    cut = np.unique(way_of[missing])
    lost = np.setdiff1d(cut, kept)
    for ways, what in ((np.intersect1d(cut, kept), "%d highway way(s) use nodes missing from the file (an extract cut "
                        "at its edge?); kept their parts between the nodes present: %s"),
                       (lost, "skipped %d highway way(s) with fewer than two of their nodes in the file: %s")):
        if len(ways):
            log.warning("%s: " + what, path, len(ways), _first_ten([f"way/{col.way_ids[i]}" for i in ways]))
    return part, [col.way_ids[w] for w in part_way], [col.way_tags[w] for w in part_way]


def _osmnx_order(walks, node, node_ids, endpoint, ea, eb, seg, way_of, cs, ce, sn_l, en_l) -> list[tuple[int, bool]]:
    """The order (and direction) in which osmnx's simplified graph listed the edges ``walks``.

    Replays what ``graph_from_xml`` + ``simplify_graph`` + :func:`roads_from_graph` did to the
    adjacency of a networkx ``MultiDiGraph``: segments are inserted way by way (forward, then
    reversed); simplified paths are appended per endpoint, endpoints taken in the iteration
    order of the Python set osmnx built from the node ids, successors in adjacency order;
    edges are listed per node (nodes by id, as OSM files list them), neighbour by neighbour,
    key by key, and ``(u, v, key)`` and ``(v, u, key)`` count once. Returns ``(walk, forward)``.
    """
    start = [sn_l[w[0][0]] if w[0][1] else en_l[w[0][0]] for w in walks]
    stop = [en_l[w[-1][0]] if w[-1][1] else sn_l[w[-1][0]] for w in walks]
    # chain of each segment, walk of each chain
    chain_of_seg = np.searchsorted(cs, seg, side="right") - 1
    walk_of_chain = np.full(len(cs), -1)
    for k, walk in enumerate(walks):
        for c, _ in walk:
            walk_of_chain[c] = k
    seg_walk = walk_of_chain[chain_of_seg]
    nseg = np.zeros(len(walks), dtype=np.int64)
    np.add.at(nseg, seg_walk[seg_walk >= 0], 1)
    # directed segments in insertion order (way by way: forward ones, then reversed ones)
    m = len(seg)
    src, dst = np.r_[ea, eb], np.r_[eb, ea]
    order = np.lexsort((np.r_[seg, seg], np.r_[np.zeros(m, np.int8), np.ones(m, np.int8)], np.r_[way_of[seg], way_of[seg]]))
    order = order[endpoint[src[order]]]
    raw: dict[int, dict[int, list[int]]] = {}
    for i, u, v in zip(order.tolist(), src[order].tolist(), dst[order].tolist()):
        raw.setdefault(u, {}).setdefault(v, []).append(i)
    seg_walk_l = seg_walk.tolist()
    adj: dict[int, dict[int, list[tuple[int, bool]]]] = {}
    for u, nbrs in raw.items():
        adj[u] = {v: [(seg_walk_l[i % m], start[seg_walk_l[i % m]] == u) for i in ids]
                  for v, ids in nbrs.items() if endpoint[v]}
    # simplified paths, found from each end: (endpoint, first node after it) -> (walk, forward)
    first_step = {}
    for k, walk in enumerate(walks):
        if nseg[k] > 1:
            c, f = walk[0]
            first_step[(start[k], int(node[cs[c] + 1] if f else node[ce[c] - 1]))] = (k, True)
            c, f = walk[-1]
            first_step[(stop[k], int(node[ce[c] - 1] if f else node[cs[c] + 1]))] = (k, False)
    ids = node_ids.tolist()
    index = {n: i for i, n in enumerate(ids)}
    for n in {ids[i] for i in np.flatnonzero(endpoint).tolist()}:
        u = index[n]
        for s in raw.get(u, ()):
            if not endpoint[s]:
                k, forward = first_step[(u, s)]
                adj[u].setdefault(stop[k] if forward else start[k], []).append((k, forward))
    rows, seen = [], set()
    for u in sorted(adj):
        for v, recs in adj[u].items():
            for key, rec in enumerate(recs):
                undirected = (min(u, v), max(u, v), key)
                if undirected not in seen:
                    seen.add(undirected)
                    rows.append(rec)
    return rows


def _first(value):
    """osmnx merges attributes of simplified ways into lists (and a GeoJSON property may be a
    list, read as an array); keep the first value."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return value[0] if len(value) else None
    return value


@contextmanager
def _osmnx_settings() -> Iterator[None]:
    """Within the block: no osmnx cache (never write one beside read-only data) and every
    road tag we cost by kept on the edges. osmnx's settings are restored afterwards, so
    the library leaves the process's osmnx configuration as it found it (issue #11)."""
    import osmnx as ox

    saved = {"use_cache": ox.settings.use_cache, "useful_tags_way": ox.settings.useful_tags_way}
    ox.settings.use_cache = False
    ox.settings.useful_tags_way = sorted(set(ox.settings.useful_tags_way) | set(SIMPLIFY_KEEP))
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(ox.settings, name, value)


def roads_from_graph(G) -> gpd.GeoDataFrame:
    """Road edges (EPSG:4326) of an osmnx graph, one row per undirected edge.

    Parameters
    ----------
    G
        An unprojected osmnx ``MultiDiGraph``.
    """
    import osmnx as ox

    if G.number_of_edges() == 0:
        return _empty(ROAD_COLUMNS)
    edges = ox.graph_to_gdfs(G, nodes=False, fill_edge_geometry=True).reset_index()
    # Each two-way street appears twice (u->v and v->u); keep one row per undirected edge.
    key = [tuple(sorted(p)) + (k,) for p, k in zip(zip(edges["u"], edges["v"]), edges["key"])]
    edges = edges.assign(_key=key).drop_duplicates("_key")
    out = {"osm_id": [f"way/{_first(v)}" for v in edges["osmid"]]}
    for col in ROAD_COLUMNS[:-1]:
        vals = edges[col] if col in edges else pd.Series([None] * len(edges), index=edges.index)
        out[col] = [None if (v is None or (isinstance(v, float) and np.isnan(v))) else str(_first(v)) for v in vals]
    return gpd.GeoDataFrame(out, geometry=list(edges.geometry), crs=G.graph.get("crs", WGS84)).to_crs(WGS84)


def read_osm(path: str | Path, *, highway_exclude: Iterable[str] = ()) -> OsmLayers:
    """Read roads, POIs, buildings, poles and overhead lines from an ``.osm`` or ``.osm.pbf`` file.

    Only ``highway=*`` ways (minus ``highway_exclude`` and ``area=yes``) become roads, cut
    into edges at junctions, dead ends and wherever the road tags we cost by change (see
    :func:`_road_edges`; the same edges osmnx's simplified graph gave), in one pyosmium
    pass without osmnx. Building outlines and power lines never become edges.

    Raises
    ------
    InputDataError
        When the file is missing, unreadable, or holds no road. Highway ways that use
        nodes missing from the file are skipped with a warning naming them.
    """
    path = _check_file(Path(path))
    exclude = frozenset(highway_exclude)
    col = _scan_osm(path, exclude)
    if col.highway_ways == 0 and col.left_out:
        left = _first_ten([f"{n} x{c}" for n, c in sorted(col.left_out.items())])
        raise InputDataError(f"{path}: no roads: every highway=* way is left out by options.highway_exclude or "
                             f"area=yes ({left})")
    if col.highway_ways == 0:
        raise InputDataError(f"{path}: no roads (no highway=* way) in this OSM file")
    roads = _road_edges(col, path)
    log.info("%s: %d highway ways -> %d road edges", path.name, col.highway_ways, len(roads))
    return OsmLayers(
        roads=roads,
        pois=_frame(col.pois, ("osm_id",) + POI_KEYS),
        buildings=_frame(col.buildings, ("osm_id", "building")),
        poles=_frame(col.poles, ("osm_id", "kind", "owner")),
        lines=_frame(col.lines, ("osm_id", "kind", "owner")),
    )


def _frame(rows: list[dict], columns: Iterable[str]) -> gpd.GeoDataFrame:
    if not rows:
        return _empty(columns)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=WGS84)


def download_osm(*, bbox: tuple[float, float, float, float] | None = None, place: str | None = None,
                 highway_exclude: Iterable[str] = (), instead_of: Path | None = None,
                 features_required: bool = False) -> OsmLayers:
    """Download roads, POIs, buildings, poles and lines for a bounding box or place name (needs internet).

    Parameters
    ----------
    bbox
        ``(west, south, east, north)`` in degrees.
    place
        A place name that Nominatim resolves to a polygon.
    instead_of
        The local file this download stands in for (missing), named in the messages.
    features_required
        When the POIs are needed (the sites come from them), a failed download of the
        features is an error; otherwise it is a warning (one line, also in
        ``OsmLayers.warnings``) and the plan has no OSM buildings, poles or lines.

    Raises
    ------
    InputDataError
        Offline (the Overpass host, and for a ``place`` the Nominatim host, does not resolve;
        found before osmnx's minute of waiting),
        the download fails, or OpenStreetMap has no roads there: one line naming the area,
        the missing file if any, and how to plan from a local file.
    """
    import osmnx as ox
    from osmnx._errors import InsufficientResponseError, ResponseStatusCodeError

    if (bbox is None) == (place is None):
        raise InputDataError("download_osm needs exactly one of bbox or place")
    area = f"bbox {tuple(bbox)}" if bbox is not None else f"place {place!r}"
    lead = f"{instead_of}: file not found; downloading {area} instead" if instead_of else f"downloading {area}"
    local = "give a local .osm or .osm.pbf extract ([inputs] osm or --osm FILE)"
    hosts = [_host(ox.settings.overpass_url, "overpass-api.de")]
    if place is not None:  # the place name is geocoded first
        hosts.insert(0, _host(ox.settings.nominatim_url, "nominatim.openstreetmap.org"))
    exclude = set(highway_exclude)
    with _osmnx_settings():
        for host in hosts:
            if not _resolves(host):
                raise InputDataError(f"{lead} needs the internet, and {host} cannot be reached (offline?): {local}")
        try:
            if bbox is not None:
                G = ox.graph_from_bbox(bbox, network_type="all", simplify=False, retain_all=True)
            else:
                G = ox.graph_from_place(place, network_type="all", simplify=False, retain_all=True)
            G = ox.simplify_graph(G, edge_attrs_differ=list(SIMPLIFY_KEEP))
        except InsufficientResponseError:
            raise InputDataError(f"{lead}: OpenStreetMap has no roads there") from None
        except (OSError, ResponseStatusCodeError, ValueError) as exc:  # requests' errors are OSErrors
            raise InputDataError(f"{lead} failed ({_one_line(exc)}): {local}") from None
        roads = roads_from_graph(G)
        roads = roads[~roads["highway"].isin(exclude)].reset_index(drop=True)
        tags = {k: True for k in ("amenity", "office", "power", "telecom", "building")}
        tags["man_made"] = ["mast", "tower"]
        warned: tuple[str, ...] = ()
        try:
            feats = (ox.features_from_bbox(bbox, tags) if bbox is not None else ox.features_from_place(place, tags))
        except InsufficientResponseError:  # nothing matches the tags there
            feats = _empty(["osm_id"])
        except (OSError, ResponseStatusCodeError) as exc:
            failed = f"OSM features (POIs, buildings, poles, lines) of {area} not downloaded ({_one_line(exc)})"
            if features_required:
                raise InputDataError(f"{failed}; the sites come from the POIs: give a sites file or {local}") from None
            warned = (f"{failed}: the plan has no OSM buildings, poles or lines",)
            log.warning("%s", warned[0])
            feats = _empty(["osm_id"])
    layers = _layers_from_features(roads, feats)
    return replace(layers, warnings=warned)


def _host(url: str, default: str) -> str:
    """The host name of one of osmnx's service URLs (Overpass, Nominatim)."""
    from urllib.parse import urlparse

    return urlparse(url).hostname or default


def _resolves(host: str) -> bool:
    """Whether ``host`` resolves (a DNS look-up: offline it fails at once, where osmnx would
    wait a minute for the Overpass status before failing)."""
    import socket

    try:
        socket.getaddrinfo(host, 443)
    except OSError:
        return False
    return True


def _one_line(exc: BaseException) -> str:
    """A short description of a download error: its type, and its first line when short."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return type(exc).__name__ if not text or len(text) > 100 else f"{type(exc).__name__}: {text}"


def _layers_from_features(roads: gpd.GeoDataFrame, feats: gpd.GeoDataFrame) -> OsmLayers:
    """Split an osmnx features frame into POI, building, pole and line layers."""
    if len(feats) and isinstance(feats.index, pd.MultiIndex):
        feats = feats.assign(osm_id=[f"{t}/{i}" for t, i in feats.index]).reset_index(drop=True)
    records = feats.drop(columns="geometry").to_dict("records") if len(feats) else []
    pois, buildings, poles, lines = [], [], [], []
    for rec, geom in zip(records, feats.geometry if len(feats) else []):
        tags = {k: str(v) for k, v in rec.items() if v is not None and not (isinstance(v, float) and np.isnan(v))}
        kind = _is_pole(tags)
        if kind and geom.geom_type == "Point":
            poles.append({"osm_id": tags["osm_id"], "kind": kind, "owner": tags.get("operator", ""), "geometry": geom})
        lk = _line_kind(tags)
        if lk and geom.geom_type == "LineString":
            lines.append({"osm_id": tags["osm_id"], "kind": lk, "owner": tags.get("operator", ""), "geometry": geom})
        if "building" in tags and geom.geom_type in ("Polygon", "MultiPolygon"):
            buildings.append({"osm_id": tags["osm_id"], "building": tags["building"], "geometry": geom})
        if any(k in tags for k in ("amenity", "office", "power", "telecom", "man_made")):
            pt = geom if geom.geom_type == "Point" else geom.representative_point()
            pois.append({"osm_id": tags["osm_id"], **{k: tags.get(k) for k in POI_KEYS}, "geometry": pt})
    return OsmLayers(
        roads=roads,
        pois=_frame(pois, ("osm_id",) + POI_KEYS),
        buildings=_frame(buildings, ("osm_id", "building")),
        poles=_frame(poles, ("osm_id", "kind", "owner")),
        lines=_frame(lines, ("osm_id", "kind", "owner")),
    )


# --------------------------------------------------------------------------- vector / CSV files
LAYER_GEOMETRY = {"roads": "LineString", "lines": "LineString", "sites": "Point", "pois": "Point",
                  "poles": "Point", "buildings": "Polygon"}  # what a layer holds -> its geometry family


def choose_layer(path: Path, what: str | None) -> str | None:
    """The layer of a multi-layer file (GeoPackage, ...) that holds ``what`` (a key of
    :data:`LAYER_GEOMETRY`): the only layer; else the only one of the right geometry family;
    else the one of them named ``what``. None for a one-layer file.

    Raises
    ------
    InputDataError
        When no layer or more than one could be meant; the message lists the layers found.
    """
    import pyogrio

    try:
        with warnings.catch_warnings():  # GDAL's notes on a broken file: read_vector says it in one line
            warnings.simplefilter("ignore", RuntimeWarning)
            layers = [(str(name), str(kind)) for name, kind in pyogrio.list_layers(path)]
    except (RuntimeError, OSError):  # pyogrio's DataSourceError: not a readable file, read_file says so below
        return None
    if len(layers) <= 1:
        return None
    family = LAYER_GEOMETRY.get(what or "")
    fits = [name for name, kind in layers if family and family in kind]
    named = [name for name in fits if name.lower() == (what or "").lower()]
    if len(fits) == 1 or len(named) == 1:
        return (named or fits)[0]
    found = ", ".join(f"{name} ({kind})" for name, kind in layers)
    if not family:
        raise InputDataError(f"{path}: {len(layers)} layers found: {found}; keep one layer in the file")
    which = f"no {family} layer" if not fits else f"{len(fits)} {family} layers"
    raise InputDataError(f"{path}: {len(layers)} layers found: {found}; cannot tell which holds the {what} "
                         f"({which}): keep one {family} layer in the file or name it {what!r}")


def read_vector(path: str | Path, *, layer: str | None = None, crs: str | None = None,
                what: str | None = None) -> gpd.GeoDataFrame:
    """Read a vector file (GeoJSON, GeoPackage, Shapefile, ...) or a CSV of points.

    A file of several layers is read at ``layer``, or at the layer :func:`choose_layer`
    finds for ``what`` (``roads``, ``sites``, ... : a key of :data:`LAYER_GEOMETRY`).
    A CSV needs ``lon``/``lat`` columns (WGS84) or ``x``/``y`` columns plus ``crs`` (either as
    the argument or as a ``crs`` column). Empty and missing geometries are rejected with
    the row number.

    Raises
    ------
    InputDataError
        When the file is missing, unreadable, has no coordinates, or has bad geometries.
    """
    path = _check_file(Path(path))
    if path.suffix.lower() in CSV_SUFFIXES:
        return normalise_geometries(_read_csv_points(path, crs=crs), path)
    if path.suffix.lower() not in VECTOR_SUFFIXES:
        raise InputDataError(f"{path}: unsupported file type {path.suffix!r}; "
                             f"use CSV or one of {', '.join(sorted(VECTOR_SUFFIXES))}")
    if layer is None:
        layer = choose_layer(path, what)
    try:
        with warnings.catch_warnings():  # NaN/inf coordinates: reported below as one line, not as a warning;
            warnings.simplefilter("ignore", RuntimeWarning)  # GDAL's notes on a broken file too (one line below)
            gdf = gpd.read_file(path, layer=layer, engine="pyogrio")
    except Exception as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputDataError(f"{path}: not a readable vector file ({msg})") from None
    if path.suffix.lower() in (".geojson", ".json"):
        _check_geojson_crs(path)
    if not isinstance(gdf, gpd.GeoDataFrame):   # a table without a geometry column (GeoPackage attributes)
        where = f" (layer {layer!r})" if layer else ""
        raise InputDataError(f"{path}{where}: no geometry column: a table of attributes, not points, lines or polygons")
    if gdf.crs is None:
        if crs is None:
            raise CRSError(f"{path}: the file states no CRS; give one")
        gdf = gdf.set_crs(crs)
    return normalise_geometries(gdf, path)


_GEOJSON_CRS = re.compile(rb'"crs"\s*:\s*\{.*?"name"\s*:\s*"([^"]*)"', re.S)


def _check_geojson_crs(path: Path) -> None:
    """Refuse a GeoJSON whose (pre-RFC 7946) ``crs`` member names a CRS nobody knows: GDAL would
    read its coordinates as WGS84 without a word. The member opens the file (first 64 KiB)."""
    with open(path, "rb") as f:
        head = f.read(65536)
    found = _GEOJSON_CRS.search(head)
    if found is None:
        return
    name = found.group(1).decode("utf-8", "replace")
    try:
        pyproj.CRS.from_user_input(name)
    except pyproj.exceptions.CRSError:
        raise CRSError(f"{path}: unknown CRS {name!r} in the file's crs member") from None


def normalise_geometries(gdf: gpd.GeoDataFrame, path: Path) -> gpd.GeoDataFrame:
    """The one geometry normaliser of every file read (roads, sites, POIs, buildings, poles, lines):
    Z (and M) coordinates dropped, so every geometry is 2D; missing, empty, non-finite (NaN,
    infinity), invalid and out-of-range geometries refused with one line naming the file and
    the row (the feature's number in the file, 1-based; in a CSV, the file line); so is a layer
    whose stated CRS does not fit its coordinates (beyond the lon/lat range in degrees; in a projected
    CRS, all of them a lon/lat of its area of use: degrees read as metres)."""
    def where(row: int) -> str:
        return row_label(path, row)

    geoms = gdf.geometry
    missing = geoms.isna() | geoms.is_empty
    if missing.any():
        row = int(np.flatnonzero(missing.to_numpy())[0])
        raise InputDataError(f"{where(row)}: missing or empty geometry")
    values = np.asarray(geoms.values)
    xy, index = shapely.get_coordinates(values, return_index=True)
    bad = ~np.isfinite(xy).all(axis=1)
    if bad.any():
        row = int(index[np.flatnonzero(bad)[0]])
        raise InputDataError(f"{where(row)}: non-finite coordinate (NaN or infinity) in its geometry")
    if shapely.has_z(values).any():
        gdf = gdf.set_geometry(gpd.GeoSeries(shapely.force_2d(values), index=gdf.index, crs=gdf.crs))
    _check_geometries(gdf, path, where)
    return gdf


def _check_geometries(gdf: gpd.GeoDataFrame, path: Path, where) -> None:
    geoms = gdf.geometry
    invalid = ~geoms.is_valid
    if invalid.any():
        row = int(np.flatnonzero(invalid.to_numpy())[0])
        reason = shapely.is_valid_reason(geoms.iloc[row])
        raise InputDataError(f"{where(row)}: invalid geometry ({reason})")
    if gdf.crs is None or not len(gdf):
        return
    bounds = geoms.total_bounds
    lon_lat = -180 <= bounds[0] <= bounds[2] <= 180 and -90 <= bounds[1] <= bounds[3] <= 90
    if gdf.crs.is_geographic and not lon_lat:
        raise CRSError(f"{path}: coordinates outside longitude/latitude range; the file's CRS "
                       f"({gdf.crs.to_string()}) does not match its coordinates")
    if gdf.crs.is_projected and lon_lat and _degrees_of_its_area(bounds, gdf.crs):
        raise CRSError(f"{path}: every coordinate lies within longitude/latitude range (x {bounds[0]:g} to {bounds[2]:g}, "
                       f"y {bounds[1]:g} to {bounds[3]:g}), but the stated CRS ({gdf.crs.to_string()}) is projected: "
                       f"longitude/latitude need EPSG:4326 (CSV: lon/lat columns)")


def _degrees_of_its_area(bounds, crs) -> bool:
    """Whether ``bounds`` (x0, y0, x1, y1 in a projected ``crs``) read as lon/lat lie in the CRS's area of use:
    degrees given as metres (98.96, 18.79 in UTM 47N, a few metres from its false origin), not a small
    synthetic frame in metres (0..80 in UTM 47N reads as lon 0-80, outside zone 47)."""
    area = crs.area_of_use
    return area is not None and (area.west <= bounds[0] and bounds[2] <= area.east
                                 and area.south <= bounds[1] and bounds[3] <= area.north)


CSV_SUFFIXES = {".csv", ".txt"}
CSV_COLUMNS = ("site_id", "id", "operator", "kind", "name", "owner", "lon", "lat", "longitude", "latitude", "x", "y", "crs")


def row_label(path: Path, i: int) -> str:
    """Where row ``i`` (0-based, of the data) of ``path`` is, said the same way in every message:
    ``line N`` in a CSV (the file line where the row starts, the header being line 1; a quoted value
    holding line breaks spans several lines), ``row N`` (the feature's 1-based number) in any
    other file."""
    path = Path(path)
    if path.suffix.lower() not in CSV_SUFFIXES:
        return f"{path}: row {i + 1}"
    return f"{path}: line {_csv_row_lines(path).get(i, i + 2)}"


def _csv_row_lines(path: Path) -> dict[int, int]:
    """The file line (1-based) where each data row (0-based) of the CSV ``path`` starts, as
    :func:`read_csv_table` reads it (empty when the file cannot be read: callers fall back to one
    line per row). Only messages ask, so the file is read again rather than carried along."""
    try:
        text, sep, _ = _csv_text(path)
    except InputDataError:
        return {}
    return {i: start for i, (start, _) in enumerate(_csv_rows(text, sep)[1])}


def _csv_rows(text: str, sep: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header's cells, and each data row with the file line (1-based) it starts on (a quoted
    value may hold line breaks); a row the csv module cannot parse ends the rows."""
    rows = csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=sep, skipinitialspace=True)
    try:
        header = next(rows, [])
    except csv.Error:
        return [], iter(())

    def data() -> Iterator[tuple[int, list[str]]]:
        end = rows.line_num
        try:
            for row in rows:
                yield end + 1, row
                end = rows.line_num
        except csv.Error:
            return
    return header, data()


def _csv_text(path: Path) -> tuple[str, str, str]:
    """The decoded text of a CSV (:func:`_decode_text`) with its lines ended by LF alone (CR LF of
    Windows and the lone CR of old Mac spreadsheets too), its delimiter (``,``, ``;`` or tab,
    whichever the header line holds most of; ``,`` on a tie) and its header line."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputDataError(f"{path}: cannot read ({exc.strerror})") from None
    text = _decode_text(data, path).replace("\r\n", "\n").replace("\r", "\n")
    header = text.lstrip("\ufeff").split("\n", 1)[0]
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    return text, max(counts, key=lambda d: (counts[d], d == ",")), header


def _decode_text(data: bytes, path: Path) -> str:
    """The text of a CSV file: UTF-8 (with or without BOM), UTF-16 (BOM, or plainly ASCII-range
    text with NUL high bytes) or Windows-874 (Thai); binary data refused."""
    if data.startswith(b"\xef\xbb\xbf"):
        candidates = ["utf-8-sig"]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]
    elif len(data) >= 4 and len(data) % 2 == 0 and data[1::2].count(0) > len(data) // 4:
        candidates = ["utf-16-le"]
    elif len(data) >= 4 and len(data) % 2 == 0 and data[0::2].count(0) > len(data) // 4:
        candidates = ["utf-16-be"]
    else:
        candidates = ["utf-8", "cp874"]
    for enc in candidates:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if any(c in text for c in "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0e\x0f\x10\x1a\x1b\x7f"):
            break  # decodes, but is binary data
        return text
    raise InputDataError(f"{path}: not a readable CSV file (not text in UTF-8, UTF-16 or Windows-874)")


def read_csv_table(path: str | Path) -> pd.DataFrame:
    """The one CSV reader: any of the encodings of :func:`_decode_text`, ``,``, ``;`` or tab as
    delimiter (whichever the header line holds most of), every cell as text, the known
    column names (``site_id``, ``operator``, ``lon``, ...) matched case-insensitively, and
    the empty rows at the end (``,,,,``) left out. A row of values beyond the header's columns, or an
    empty row amid the data, is an error naming its file line."""
    path = Path(path)
    text, sep, header = _csv_text(path)
    try:
        with warnings.catch_warnings(record=True) as lost:   # pandas' ParserWarning: values beyond the header's columns
            warnings.simplefilter("always", pd.errors.ParserWarning)
            # index_col=False: a delimiter ending every row is no first column made the index (shifting every column);
            # skip_blank_lines=False: a blank line keeps its place, so messages name the file's lines
            df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, skipinitialspace=True, index_col=False,
                             skip_blank_lines=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        _check_row_lengths(text, sep, path)
        raise InputDataError(f"{path}: not a readable CSV file ({str(exc).splitlines()[0]})") from None
    if any(issubclass(w.category, pd.errors.ParserWarning) for w in lost):
        _check_row_lengths(text, sep, path)
    names = next(csv.reader([header], delimiter=sep, skipinitialspace=True), [])
    first: dict[str, int] = {}
    for i, c in enumerate(names):
        key = c.strip().lower()
        if key in CSV_COLUMNS and key in first:   # pandas would read the second as `lon.1`, unused
            raise InputDataError(f"{path}: column `{key}` appears twice in the header (columns {first[key] + 1} "
                                 f"and {i + 1}): keep one")
        first.setdefault(key, i)
    rename = {}
    for c in df.columns:
        key = str(c).strip().lower()
        if key in CSV_COLUMNS:
            rename[c] = key
    return _without_trailing_empty_rows(df, path).rename(columns=rename)


def _check_row_lengths(text: str, sep: str, path: Path) -> None:
    """Raise :class:`InputDataError` naming the first file line holding a value beyond the header's
    columns (an unquoted ``sep`` inside a value, most often); empty extra cells are let through."""
    header, rows = _csv_rows(text, sep)
    width = len(header)
    for start, row in rows:
        if len(row) > width and any(cell.strip() for cell in row[width:]):
            raise InputDataError(f"{path}: line {start}: {len(row)} values, the header names {width} columns "
                                 f"(a {sep!r} inside a value? quote the value)")


def _without_trailing_empty_rows(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    """``df`` less the rows of nothing but empty cells at its end (``,,,,`` lines and blank lines that
    spreadsheets write below the data); such a row amid the data is an error naming its file line."""
    filled = df.apply(lambda col: col.fillna("").astype(str).str.strip() != "").any(axis=1).to_numpy()
    last = int(np.flatnonzero(filled)[-1]) + 1 if filled.any() else 0
    gaps = np.flatnonzero(~filled[:last])
    if len(gaps):
        raise InputDataError(f"{row_label(path, int(gaps[0]))}: empty row amid the data (delete it)")
    return df.iloc[:last]


def csv_crs_column(df: pd.DataFrame, column: str, path: Path) -> str | None:
    """The CRS a CSV's ``crs`` column states (None when empty): one value for the whole file (the
    first row's was taken for every row, so a file mixing UTM zones put half its points in the wrong one).

    Raises
    ------
    InputDataError
        When rows state different CRSs (naming the first row that differs).
    """
    values = df[column].fillna("").astype(str).str.strip()
    differ = (values != values.iloc[0]).to_numpy()
    if differ.any():
        row = int(np.flatnonzero(differ)[0])
        raise InputDataError(f"{row_label(path, row)}: crs {values.iloc[row]!r} differs from {values.iloc[0]!r} of "
                             f"{row_label(path, 0).rsplit(': ', 1)[1]}: one CRS per file (split it, or give lon/lat)")
    return values.iloc[0] or None


def _read_csv_points(path: Path, *, crs: str | None) -> gpd.GeoDataFrame:
    return csv_points(read_csv_table(path), path, crs=crs)


def csv_points(df: pd.DataFrame, path: Path, *, crs: str | None, named: dict[str, str] | None = None,
               drop_xy: bool = True, crs_hint: str = "a `crs` column or the scenario's inputs.crs",
               columns_hint: str = "needs lon/lat columns, or x/y columns with a CRS") -> gpd.GeoDataFrame:
    """Points of a CSV table (the one CSV point reader): from its lon/lat (``longitude``/``latitude``)
    columns in WGS84, else from x/y in ``crs`` or the table's ``crs`` column (one CRS for all rows).

    ``named`` maps ``lon``, ``lat``, ``x`` or ``y`` to the table's own column names (a scenario's
    column mapping); other columns are found by name, in any case. ``drop_xy``: leave the
    coordinate columns out of the result. ``crs_hint`` and ``columns_hint`` end the error
    messages (where a CRS or the columns can be given). A missing, non-numeric or infinite
    coordinate, or a lon/lat out of range, is an error naming the row.
    """
    named = named or {}
    cols = {str(c).lower(): c for c in df.columns}

    def find(field: str, aliases: tuple[str, ...] = ()) -> object:
        return named.get(field) or next((cols[a] for a in (field,) + aliases if a in cols), None)

    lon, lat, x_col, y_col = find("lon", ("longitude",)), find("lat", ("latitude",)), find("x"), find("y")
    if lon is not None and lat is not None:
        xcol, ycol, point_crs = lon, lat, WGS84
    elif x_col is not None and y_col is not None:
        xcol, ycol = x_col, y_col
        point_crs = crs or (csv_crs_column(df, cols["crs"], path) if "crs" in cols and len(df) else None)
        if point_crs is None:
            raise CRSError(f"{path}: x/y columns need a CRS ({crs_hint})")
    else:
        raise InputDataError(f"{path}: no coordinates: {columns_hint}")
    x = pd.to_numeric(df[xcol], errors="coerce")
    y = pd.to_numeric(df[ycol], errors="coerce")
    bad = x.isna() | y.isna() | ~np.isfinite(x) | ~np.isfinite(y)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputDataError(f"{row_label(path, row)}: missing or non-numeric coordinates")
    if point_crs == WGS84:
        outside = (x.abs() > 180) | (y.abs() > 90)
        if outside.any():
            row = int(np.flatnonzero(outside.to_numpy())[0])
            raise InputDataError(f"{row_label(path, row)}: lon/lat ({x.iloc[row]}, {y.iloc[row]}) out of range")
    try:
        return gpd.GeoDataFrame(df.drop(columns=[xcol, ycol]) if drop_xy else df,
                                geometry=gpd.points_from_xy(x, y), crs=point_crs)
    except Exception as exc:  # pyproj rejects the CRS string
        raise CRSError(f"{path}: unknown CRS {point_crs!r} ({exc})") from None


def read_assets(path: str | Path, *, geometry: str, crs: str | None = None) -> gpd.GeoDataFrame:
    """Poles (``geometry="Point"``) or overhead lines (``"LineString"``) from a partner file.

    The file needs an ``owner`` column (``operator`` is accepted as its alias); ``kind`` is
    kept when present. CSV files give poles by lon/lat or x/y plus a CRS.

    Raises
    ------
    InputDataError
        On a missing owner column or a geometry of the wrong type (the row is named).
    """
    path = Path(path)
    return assets_from(read_vector(path, crs=crs, what="poles" if geometry == "Point" else "lines"), path,
                       geometry=geometry)


def assets_from(gdf: gpd.GeoDataFrame, path: Path, *, geometry: str) -> gpd.GeoDataFrame:
    """:func:`read_assets` on a frame already read from ``path`` (its checks and columns)."""
    if "owner" not in gdf and "operator" in gdf:
        gdf = gdf.rename(columns={"operator": "owner"})
    if "owner" not in gdf:
        raise InputDataError(f"{path}: missing column `owner` (who owns each pole or line)")
    gdf = gdf.explode(index_parts=False, ignore_index=True) if geometry == "LineString" else gdf
    wrong = (gdf.geom_type != geometry).to_numpy()
    if wrong.any():
        row = int(np.flatnonzero(wrong)[0])
        raise InputDataError(f"{row_label(path, row)}: expected {geometry} geometry, found {gdf.geom_type.iloc[row]}")
    kind = gdf["kind"].astype(str) if "kind" in gdf else pd.Series(["pole" if geometry == "Point" else "line"] * len(gdf))
    ids = gdf["id"].astype(str) if "id" in gdf else pd.Series([f"{path.stem}/{i + 1}" for i in range(len(gdf))])
    return gpd.GeoDataFrame({"osm_id": ids.to_numpy(), "kind": kind.to_numpy(), "owner": gdf["owner"].fillna("").astype(str).to_numpy()},
                            geometry=gdf.geometry.values, crs=gdf.crs)


def read_road_lines(path: str | Path, *, highway_exclude: Iterable[str] = ()) -> gpd.GeoDataFrame:
    """Road centre lines from a vector file, exploded to LineStrings, with :data:`ROAD_COLUMNS`;
    lines whose ``highway`` is in ``highway_exclude`` left out (as :func:`read_osm` leaves out
    such ways).

    The lines are not yet noded; :func:`connectivity.network.node_lines` does that.
    """
    path = Path(path)
    return roads_from(read_vector(path, what="roads"), path, highway_exclude=highway_exclude)


def roads_from(gdf: gpd.GeoDataFrame, path: Path, *, highway_exclude: Iterable[str] = ()) -> gpd.GeoDataFrame:
    """:func:`read_road_lines` on a frame already read from ``path`` (its checks and columns).

    Raises
    ------
    InputDataError
        When the layer is empty, holds other geometries than lines, or every line's class is excluded.
    """
    if len(gdf) == 0:
        raise InputDataError(f"{path}: no roads (the layer is empty)")
    kinds = set(gdf.geom_type.unique())
    if not kinds <= {"LineString", "MultiLineString"}:
        raise InputDataError(f"{path}: roads must be LineString geometries, found {', '.join(sorted(kinds))}")
    gdf = gdf.explode(index_parts=False, ignore_index=True)
    out = {}
    for col in ROAD_COLUMNS:
        src = "id" if col == "osm_id" and "osm_id" not in gdf and "id" in gdf else col
        out[col] = ([None if v is None or pd.isna(v) else str(v) for v in map(_first, gdf[src])] if src in gdf
                    else [None] * len(gdf))
    if all(v is None for v in out["highway"]):
        out["highway"] = ["unclassified"] * len(gdf)
    roads = gpd.GeoDataFrame(out, geometry=list(gdf.geometry), crs=gdf.crs)
    excluded = roads["highway"].isin(set(highway_exclude)).to_numpy()
    if excluded.all():
        classes = ", ".join(sorted(set(roads["highway"])))
        raise InputDataError(f"{path}: no roads left: every line's highway class ({classes}) is in options.highway_exclude")
    return roads[~excluded].reset_index(drop=True) if excluded.any() else roads


def read_buildings(path: str | Path) -> gpd.GeoDataFrame:
    """Buildings from a vector file: outlines (Polygon, MultiPolygon) or points (a building's centroid).

    Raises
    ------
    InputDataError
        On any other geometry (a road file given as buildings), naming the row.
    """
    path = Path(path)
    return buildings_from(read_vector(path, what="buildings"), path)


def buildings_from(gdf: gpd.GeoDataFrame, path: Path) -> gpd.GeoDataFrame:
    """:func:`read_buildings` on a frame already read from ``path`` (its check)."""
    wrong = (~gdf.geom_type.isin(["Polygon", "MultiPolygon", "Point"])).to_numpy()
    if wrong.any():
        row = int(np.flatnonzero(wrong)[0])
        raise InputDataError(f"{row_label(path, row)}: buildings must be polygons or points, found {gdf.geom_type.iloc[row]}")
    return gdf


def ensure_projected(gdf: gpd.GeoDataFrame, what: str) -> None:
    """Raise :class:`CRSError` unless ``gdf`` is in a projected CRS in metres (the package's one
    "metres needed" check, :func:`connectivity.config.not_metres`: no CRS, degrees and other units
    such as feet are refused)."""
    problem = not_metres(gdf.crs)
    if problem:
        raise CRSError(f"{what}: needs a projected CRS in metres, got {problem}")

