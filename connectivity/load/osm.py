"""OSM files (.osm, .osm.pbf) read with pyosmium: :func:`read_osm` and :func:`scan_osm`, the one
pyosmium scan loop (:mod:`connectivity.areas.split` uses it too).

One pass builds the road edges (the graph osmnx's simplified graph gave, in its order:
:func:`_road_edges`), a second over the nodes only when ways use negative ids, which
pyosmium's location cache does not keep. Objects deleted in an XML file (``visible="false"``,
JOSM's ``action="delete"``) are left out, found by one scan of the start tags, which also
rereads the text of coordinates libosmium read as 0.
"""
from __future__ import annotations

import bz2
import gzip
import logging
import math
import re
import zlib
from collections.abc import Iterable, Iterator
from itertools import chain, groupby
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from shapely import wkb

from connectivity.errors import InputDataError
from connectivity.load.common import (POI_KEYS, ROAD_COLUMNS, SIMPLIFY_KEEP, WGS84, OsmLayers, _check_file,
                                      _frame)

log = logging.getLogger(__name__)

_NAN = float("nan")
POLE_TAGS = {"power": {"pole", "tower", "portal"}}
LINE_TAGS = {"power": {"line", "minor_line", "cable"}, "telecom": {"line", "cable"}}


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


#: The attribute texts of a deleted object, as JOSM and the OSM API write them: a chunk of a file holding
#: none is not parsed (a bare ``action`` would match every ``tourism=attraction`` and parse the whole file).
_DELETED_HINTS = (b"action=\"delete\"", b"action='delete'", b"visible=\"false\"", b"visible='false'")


def _deleted_in_xml(path: Path) -> dict[str, set[int]]:
    """Ids of the deleted objects of the OSM XML file ``path``, by type (``n``, ``w``, ``r``):
    ``visible="false"`` (deleted objects; pyosmium's location cache keeps such nodes' locations for
    the ways) and JOSM's ``action="delete"`` (deleted locally, not uploaded yet; libosmium's reader
    does not pass the attribute on). Empty for another format (PBF)."""
    deleted: dict[str, set[int]] = {"n": set(), "w": set(), "r": set()}
    for element, at in _xml_start_tags(path, _DELETED_HINTS):
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


def _nodes_after_ways(path: Path) -> bool:
    """Whether the OSM XML file ``path`` has a node after its first way: an unsorted file, whose ways
    libosmium's location cache cannot locate (it reads in one pass, nodes first)."""
    seen_way = False
    for element, _ in _xml_start_tags(path, (b"<node", b"<way")):
        if element == "way":
            seen_way = True
        elif element == "node" and seen_way:
            return True
    return False


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
        if _nodes_after_ways(path):
            raise InputDataError(f"{path}: no roads: the file lists nodes after the ways that use them (it is not "
                                 f"sorted), so the ways have no locations; sort it first, e.g. `osmium sort "
                                 f"{path.name} -o sorted.osm`")
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
