"""Network stage: noded road lines in metres -> an undirected routable :class:`Network`.

Sites join the network by splitting the nearest road edge at the foot of the
perpendicular (the nearest of the main network when the nearest lies on a road piece
apart from it); the lead-in from the site to the road is an edge of its own.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops
from scipy.spatial import cKDTree

from connectivity.errors import CRSError, InputDataError
from connectivity.load import ensure_projected, row_label
from connectivity.steiner.graph import component_labels

log = logging.getLogger(__name__)

NODE_DIGITS = 3  # node coordinates are matched at 1 mm
EDGE_COLUMNS = ("u", "v", "length_m", "highway", "name", "ref", "surface", "lanes", "width_m",
                "bridge", "tunnel", "layer", "osm_id", "kind", "site_id", "site_ids", "component")


@dataclass(frozen=True)
class Network:
    """An undirected road network in a projected CRS.

    Attributes
    ----------
    nodes
        Index ``node_id`` (0..n-1); ``kind`` is ``road`` (junction or dead end), ``split``
        (where a site's lead-in meets a road) or ``site``; Point geometry.
    edges
        Index ``edge_id`` (0..m-1); see :data:`EDGE_COLUMNS`. ``u < v``; ``length_m`` in metres;
        ``kind`` is ``road`` or ``lead_in``; geometry runs from node ``u`` to node ``v``.
        A lead-in serves one site location: ``site_id`` is the first of its sites (by
        ``site_id``; the site node stands at that site's point) and ``site_ids`` the tuple
        of all of them, sorted (co-located sites of several operators share one lead-in);
        both are None on road edges.
    crs
        The projected CRS, e.g. ``EPSG:32647``.
    """

    nodes: gpd.GeoDataFrame
    edges: gpd.GeoDataFrame
    crs: str

    @property
    def component_sizes(self) -> dict[int, int]:
        """Number of nodes in each connected component, largest first."""
        comp = component_labels(len(self.nodes), self.edges["u"].to_numpy(), self.edges["v"].to_numpy())
        sizes = pd.Series(comp).value_counts()
        return {int(k): int(v) for k, v in sizes.items()}

    def arrays(self) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
        """``(n_nodes, u, v, length_m)`` as plain arrays for the Steiner engine."""
        e = self.edges
        return len(self.nodes), e["u"].to_numpy(np.int64), e["v"].to_numpy(np.int64), e["length_m"].to_numpy(float)


UTM_LATITUDES = (-80.0, 84.0)
"""Latitudes (degrees) the UTM zones cover; beyond them the Universal Polar Stereographic CRSs."""

POLAR_CRS = {"north": "EPSG:32661", "south": "EPSG:32761"}
"""The UPS North and South CRSs (metres), suggested where no UTM zone covers the roads."""


def utm_crs(gdf: gpd.GeoDataFrame, *, source: str = "layer") -> str:
    """The UTM zone CRS (as ``EPSG:code``) at the median vertex of ``gdf`` (lon/lat), so a few
    stray features far away (a typo in a coordinate) do not move the zone of the whole area.

    Raises
    ------
    InputDataError
        Naming ``source`` (the file ``gdf`` was read from): when it has no coordinates.
    CRSError
        When the median vertex lies beyond :data:`UTM_LATITUDES` (no UTM zone there): the message
        names its extent (degrees) and asks for an explicit ``[options] crs``."""
    if len(gdf) == 0:
        raise InputDataError(f"{source}: cannot choose a UTM zone for an empty layer")
    xy = shapely.get_coordinates(np.asarray(gdf.geometry.values))
    xy = xy[np.isfinite(xy).all(axis=1)]
    if len(xy) == 0:
        raise InputDataError(f"{source}: cannot choose a UTM zone for a layer without coordinates")
    lon, lat = np.median(xy[:, 0]), np.median(xy[:, 1])
    if not UTM_LATITUDES[0] <= lat <= UTM_LATITUDES[1]:
        (x0, y0), (x1, y1) = xy.min(axis=0), xy.max(axis=0)
        polar = POLAR_CRS["north" if lat > 0 else "south"]
        raise CRSError(f"{source}: options.crs = \"auto\" finds no UTM zone: the roads lie at lat {y0:g} to {y1:g}, "
                       f"lon {x0:g} to {x1:g}, beyond the UTM zones (lat {UTM_LATITUDES[0]:g} to {UTM_LATITUDES[1]:g}); "
                       f"set crs in the scenario's [options] to a projected CRS of the area (e.g. \"{polar}\", "
                       f"Universal Polar Stereographic)")
    crs = gpd.GeoSeries([shapely.Point(lon, lat)], crs=gdf.crs).estimate_utm_crs()
    return f"EPSG:{crs.to_epsg()}"


AREA_OF_USE_MARGIN_DEG = 5.0
"""How far (degrees) a point may lie outside the area of use of the CRS it is projected to (a UTM
zone is 6 degrees wide; 5 more on each side keeps the scale error of a province-wide plan small)."""


#: Relative length error of a CRS at the roads (its scale factor's distance from 1) above which
#: :func:`scale_warning` warns: UTM stays within 0.1 % inside its zone, Web Mercator stretches
#: lengths by 1 / cos(lat) (5.6 % at Chiang Mai).
SCALE_WARN = 0.01


def scale_warning(net: Network, setting: str) -> str | None:
    """A warning (not logged) when the network's CRS (``setting``: the scenario's ``options.crs``)
    measures lengths at its median node more than :data:`SCALE_WARN` away from ground metres:
    every length and cost would be off by as much. None when it does not."""
    from pyproj import Proj, Transformer

    if len(net.nodes) == 0:
        return None
    x, y = np.median(shapely.get_coordinates(net.nodes.geometry.values), axis=0)
    lon, lat = Transformer.from_crs(net.crs, "EPSG:4326", always_xy=True).transform(x, y)
    f = Proj(net.crs).get_factors(lon, lat)
    k = max((f.meridional_scale, f.parallel_scale), key=lambda v: abs(v - 1.0))
    if not np.isfinite(k) or abs(k - 1.0) <= SCALE_WARN:
        return None
    return (f"options.crs = {setting!r} measures lengths at the roads {100 * abs(k - 1):.1f} % "
            f"{'longer' if k > 1 else 'shorter'} than on the ground (scale factor {k:.3f} at lon {lon:.3f}, "
            f"lat {lat:.3f}): every length and cost is off by as much; choose a CRS of the area ('auto': its UTM zone)")


def project(gdf: gpd.GeoDataFrame, crs: str, what: str, *, names=None) -> gpd.GeoDataFrame:
    """Reproject ``gdf`` to ``crs``; a layer without a CRS is an error, and so is a point that
    cannot be projected to ``crs``: one that does not project to finite coordinates, or lies
    more than :data:`AREA_OF_USE_MARGIN_DEG` outside the CRS's area of use (where a transverse
    Mercator gives finite nonsense, up to the antipode). The point is named by its row
    (:func:`connectivity.load.row_label` of ``what``) or by ``names`` (one label per row)."""
    from pyproj import CRS, Transformer

    if gdf.crs is None:
        raise CRSError(f"{what}: layer has no CRS")
    with np.errstate(invalid="ignore", over="ignore"):
        out = gdf.to_crs(crs)
    ensure_projected(out, what)
    xy, owner = shapely.get_coordinates(out.geometry.values, return_index=True)
    bad = ~np.isfinite(xy).all(axis=1)
    area = CRS.from_user_input(crs).area_of_use
    source = shapely.get_coordinates(gdf.geometry.values)
    if area is not None and len(xy):
        lon, lat = source.T
        if not gdf.crs.equals("EPSG:4326"):   # the coordinates alone, not a second copy of the layer
            with np.errstate(invalid="ignore", over="ignore"):
                lon, lat = Transformer.from_crs(gdf.crs, "EPSG:4326", always_xy=True).transform(lon, lat)
        m = AREA_OF_USE_MARGIN_DEG
        with np.errstate(invalid="ignore"):
            outside = ~(np.isfinite(lon) & np.isfinite(lat))   # x/y that are no place on Earth
            outside |= (lat < area.south - m) | (lat > area.north + m)
            if area.west <= area.east:   # not across the antimeridian
                outside |= (lon < area.west - m) | (lon > area.east + m)
        if outside.all() and len(gdf) > 1:
            raise CRSError(f"{what}: no coordinate lies in the area of {crs} (lon {area.west:g} to {area.east:g}, "
                           f"lat {area.south:g} to {area.north:g}): choose the CRS of the area ('auto': its UTM zone)")
        bad |= outside
    bad = np.flatnonzero(bad)
    if len(bad):
        src = source[bad[0]]
        row = int(owner[bad[0]])
        where = f"{what}: {names[row]}" if names is not None else row_label(Path(what), row)
        raise CRSError(f"{where}: coordinates ({src[0]:g}, {src[1]:g}) cannot be projected "
                       f"to {crs}: they lie too far from the rest of the area (a typo in a latitude or longitude?)")
    return out


# --------------------------------------------------------------------------- noding
def node_lines(lines: gpd.GeoDataFrame, *, tolerance_m: float = 1.0) -> gpd.GeoDataFrame:
    """Split road lines where they meet or cross, so that they form a network.

    Line ends within ``tolerance_m`` of another line are moved onto it first (onto a line
    of their own level when one is that close), then the lines of each level
    (:func:`line_levels`) are noded at every intersection among themselves. Lines of
    different levels (a bridge and the street under it) cross without a node: they join
    only where an end of one lies on the other (as OSM joins them only at a shared node),
    which is then split there, and not where that end is also a junction of its own level
    (a street split right under a bridge). Each piece keeps the attributes of the source
    line it lies on.

    Parameters
    ----------
    lines
        Road LineStrings in a projected CRS (metres); optional columns ``bridge``,
        ``tunnel`` and ``layer`` (OSM values) set their levels.
    tolerance_m
        Largest gap (metres) between a line end and another line that still joins them.
    """
    ensure_projected(lines, "road lines")
    lines = lines[~lines.geometry.is_empty & ~shapely.is_missing(lines.geometry.values)].reset_index(drop=True)
    if len(lines) == 0:
        return lines
    level = line_levels(lines)
    geoms = _snap_ends(np.asarray(lines.geometry.values), tolerance_m, level)
    grid = 10 ** -NODE_DIGITS
    rounded = shapely.set_precision(geoms, grid)
    pieces, src = [], []
    for k in np.unique(level):                          # one level (all ground) on most files
        idx = np.flatnonzero(level == k)
        noded = shapely.union_all(rounded[idx], grid_size=grid)
        part = np.asarray(shapely.get_parts(noded))
        part = part[shapely.get_type_id(part) == 1]
        part = part[shapely.length(part) > 0]
        # Attributes: the source line (of this level) closest to each piece's midpoint.
        mids = shapely.line_interpolate_point(part, 0.5, normalized=True)
        pieces.append(part)
        src.append(idx[_nearest_source(mids, geoms[idx], tolerance_m)])
    pieces, src = np.concatenate(pieces), np.concatenate(src)
    if len(pieces) and (level != level[0]).any():
        pieces, parent = _join_levels(pieces, level[src], rounded, level)
        src = src[parent]
    attrs = lines.drop(columns="geometry").iloc[src].reset_index(drop=True)
    out = gpd.GeoDataFrame(attrs, geometry=list(pieces), crs=lines.crs)
    log.info("noded %d road lines into %d pieces", len(lines), len(out))
    return out


def line_levels(lines: gpd.GeoDataFrame) -> np.ndarray:
    """The level of each road line, as an integer: 0 on the ground (no bridge, no tunnel,
    ``layer`` missing or 0), else ``4 * layer + 2 * bridge + tunnel``.

    ``bridge`` and ``tunnel`` are read as :func:`_yes` reads them (``yes``, ``viaduct``,
    ``1``, ``true``, ...); ``layer`` is OSM's integer (the first of ``1;2``), and where it is
    missing or unreadable a bridge is on layer 1, a tunnel on layer -1. Lines cross at grade
    only when their levels are equal: a bridge never with a street, even of the same layer.
    """
    def values(name, read, missing):
        if name not in lines:
            return np.full(len(lines), missing)
        codes, distinct = pd.factorize(lines[name], use_na_sentinel=False)   # each distinct value read once
        return np.array([read(x) for x in distinct], dtype=type(missing))[codes]

    bridge = values("bridge", _yes, False)
    tunnel = values("tunnel", _yes, False)
    layer = values("layer", _layer, np.nan)
    layer = np.where(np.isnan(layer), np.where(bridge, 1, np.where(tunnel, -1, 0)), layer).astype(np.int64)
    return 4 * layer + 2 * bridge + tunnel


def _layer(value) -> float:
    """OSM ``layer`` as a whole number (NaN when missing or unreadable)."""
    try:
        x = float(str(value).split(";")[0])
    except ValueError:
        return np.nan
    return float(round(x)) if np.isfinite(x) else np.nan


def _join_levels(pieces: np.ndarray, piece_level: np.ndarray, lines: np.ndarray,
                 level: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split ``pieces`` (noded within their levels, on the 1 mm grid) where an end of one of
    ``lines`` (rounded alike) lies on a piece of another level, unless that end also touches
    another line of its own level (a junction or a continuation there: the lines merely
    cross). Returns the new pieces and each one's index in ``pieces``.
    """
    on_m = 2 * 10 ** -NODE_DIGITS                       # rounding both to the grid moves them <= 0.71 mm each
    first, last = line_ends(lines)
    xy = np.vstack([first, last])
    end_level = np.r_[level, level]
    ends = shapely.points(xy)
    found = []
    for k in np.unique(level):                          # the ends of a level against the other levels' pieces
        mine, others = np.flatnonzero(end_level == k), np.flatnonzero(piece_level != k)
        e, p = shapely.STRtree(pieces[others]).query(ends[mine], predicate="dwithin", distance=on_m)
        found.append(np.vstack([mine[e], others[p]]))
    e, p = np.hstack(found)
    if len(e) == 0:
        return pieces, np.arange(len(pieces))
    owner = np.r_[np.arange(len(lines)), np.arange(len(lines))]
    cand = np.unique(e)
    c, j = shapely.STRtree(lines).query(ends[cand], predicate="dwithin", distance=on_m)
    own = (j != owner[cand[c]]) & (level[j] == end_level[cand[c]])
    free = np.ones(len(xy), dtype=bool)
    free[cand[c[own]]] = False                          # a junction of its own level there
    e, p = e[free[e]], p[free[e]]
    if len(e) == 0:
        return pieces, np.arange(len(pieces))
    return _split_at(_with_vertices(pieces, p, xy[e]), p, xy[e])


def _split_at(lines: np.ndarray, j: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``lines`` cut at the vertices equal to ``points[i]`` that lie inside line ``j[i]``;
    returns the pieces (each line's in order, lines in order) and each one's line index."""
    coords, idx = shapely.get_coordinates(lines, return_index=True)
    grid = np.round(coords * 10 ** NODE_DIGITS).astype(np.int64)
    wanted = np.column_stack([j, np.round(points * 10 ** NODE_DIGITS).astype(np.int64)])
    _, inv = np.unique(np.vstack([np.column_stack([idx, grid]), wanted]), axis=0, return_inverse=True)
    inv = inv.ravel()
    cut = np.isin(inv[:len(coords)], inv[len(coords):])
    inner = np.r_[False, idx[1:] == idx[:-1]] & np.r_[idx[1:] == idx[:-1], False]
    cut &= inner
    if not cut.any():
        return lines, np.arange(len(lines))
    reps = 1 + cut
    coords, idx = np.repeat(coords, reps, axis=0), np.repeat(idx, reps)
    starts = np.r_[True, idx[1:] != idx[:-1]]            # a line's first coordinate ...
    starts[np.cumsum(reps)[cut] - 1] = True               # ... and the second copy of each cut vertex
    piece = np.cumsum(starts) - 1
    return shapely.linestrings(coords, indices=piece), idx[starts]


def _nearest_source(points: np.ndarray, geoms: np.ndarray, tolerance_m: float) -> np.ndarray:
    """Index of the geometry nearest to each point (lowest index on ties).

    Points lie on their source line, so a ``dwithin`` query (cheap even for long lines)
    settles almost all of them; only the rest go through the slower nearest search.
    """
    tree = shapely.STRtree(geoms)
    pairs = tree.query(points, predicate="dwithin", distance=max(tolerance_m, 0.01))
    src = np.full(len(points), -1, dtype=np.int64)
    if pairs.shape[1]:
        d = shapely.distance(points[pairs[0]], geoms[pairs[1]])
        order = np.lexsort((pairs[1], d, pairs[0]))
        first = order[np.r_[True, np.diff(pairs[0][order]) != 0]]
        src[pairs[0][first]] = pairs[1][first]
    rest = np.flatnonzero(src < 0)
    if len(rest):
        src[rest] = tree.query_nearest(points[rest], return_distance=False, all_matches=False)[1]
    return src


def line_ends(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last coordinates (x, y) of every line of ``geoms`` (non-empty), as two ``(n, 2)``
    arrays: from one coordinate array, about 4x faster than ``shapely.get_point`` twice."""
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    starts = np.searchsorted(index, np.arange(len(geoms) + 1))
    if len(geoms) and (np.diff(starts) == 0).any():   # an empty line: no coordinates of its own
        return (shapely.get_coordinates(shapely.get_point(geoms, 0)),
                shapely.get_coordinates(shapely.get_point(geoms, -1)))
    return coords[starts[:-1]], coords[starts[1:] - 1]


def _snap_ends(geoms: np.ndarray, tolerance_m: float, level: np.ndarray) -> np.ndarray:
    """Move line ends that stop short of (or overshoot onto) another line onto that line.

    The point an end moves to (or already lies on, in the other line's interior) is also
    made a vertex of that line, so that both lines hold the very same coordinate: rounding
    to the node grid then moves them alike and the junction is noded (rounding a point on
    a segment and the segment's ends separately can leave them up to ~0.7 mm apart).
    Each end goes to a line it lies on, else to its nearest line within ``tolerance_m``
    (metres) of its own ``level``, else of another level (the lowest index on ties); first
    ends, then last ends; all with array operations (no loop over ends).
    """
    if tolerance_m <= 0 or len(geoms) < 2:
        return geoms
    tree = shapely.STRtree(geoms)
    out = geoms.copy()
    first, last = line_ends(geoms)
    onto_j, onto_pt = [], []          # points to make vertices of line j, in the order they were found
    for which in (0, -1):
        ends = shapely.points(first if which == 0 else last)
        pairs = tree.query(ends, predicate="dwithin", distance=tolerance_m)
        pairs = pairs[:, pairs[0] != pairs[1]]
        if pairs.shape[1] == 0:
            continue
        d = shapely.distance(ends[pairs[0]], geoms[pairs[1]])
        # not onto a line that this line's other end already touches: that would fold a short
        # line onto its neighbour (a 0.3 m stub between a spur and the road it stops short of)
        other = shapely.points(last if which == 0 else first)
        fold = (d > 0) & shapely.dwithin(geoms[pairs[1]], other[pairs[0]], 1e-9)
        pairs, d = pairs[:, ~fold], d[~fold]
        if pairs.shape[1] == 0:
            continue
        cross = level[pairs[0]] != level[pairs[1]]
        order = np.lexsort((pairs[1], d, cross, d > 0))  # on it, own level, nearest first (lowest id on ties)
        i_sorted = pairs[0][order]
        _, at_first = np.unique(i_sorted, return_index=True)
        chosen = order[np.sort(at_first)]              # each end's nearest line, in (d, j) order
        i, j, dk = pairs[0][chosen], pairs[1][chosen], d[chosen]
        end_xy = shapely.get_coordinates(ends[i])
        on = dk == 0
        same = on & ((end_xy == first[j]).all(axis=1) | (end_xy == last[j]).all(axis=1))
        move = ~on
        target = end_xy.copy()
        if move.any():
            at = shapely.line_interpolate_point(geoms[j[move]], shapely.line_locate_point(geoms[j[move]], ends[i[move]]))
            target[move] = shapely.get_coordinates(at)
            mi = i[move]
            coords, idx = shapely.get_coordinates(out[mi], return_index=True)
            starts = np.searchsorted(idx, np.arange(len(mi)))
            pos = starts if which == 0 else np.r_[starts[1:], len(idx)] - 1
            coords[pos] = target[move]
            out[mi] = shapely.linestrings(coords, indices=idx)
        keep = ~same
        onto_j.append(j[keep])
        onto_pt.append(target[keep])
    if onto_j:
        out = _with_vertices(out, np.concatenate(onto_j), np.vstack(onto_pt))
    return out


def _with_vertices(out: np.ndarray, j: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``out`` with each ``points[i]`` (on or within a few mm of line ``out[j[i]]``) inserted as a
    vertex of that line where it lies along it (after the vertex that starts its segment,
    nearer points first); points equal to an existing vertex add nothing, and lines that
    gain no vertex keep their geometry object."""
    if len(j) == 0:
        return out
    lines, r = np.unique(j, return_inverse=True)       # r: each point's line (rank among ``lines``)
    geoms = out[lines]
    coords, cidx = shapely.get_coordinates(geoms, return_index=True)
    nc = np.bincount(cidx, minlength=len(lines))
    cstart = np.r_[0, np.cumsum(nc)[:-1]]
    seg = np.hypot(*np.diff(coords, axis=0).T)
    cum = np.zeros(len(coords))
    for a, n in zip(cstart.tolist(), nc.tolist()):   # per line, summed as along one line (same rounding)
        cum[a + 1:a + n] = np.cumsum(seg[a:a + n - 1])
    along = shapely.line_locate_point(geoms[r], shapely.points(points))
    # vertices of the same line with cum <= along (searchsorted 'right'): merge vertices (kind 0) before points (kind 1) on ties
    lid = np.r_[cidx, r]
    val = np.r_[cum, along]
    kind = np.r_[np.zeros(len(cum), np.int8), np.ones(len(along), np.int8)]
    o = np.lexsort((kind, val, lid))
    is_v = (kind[o] == 0).astype(np.int64)
    vcount = np.cumsum(is_v)                                 # vertices up to each merged position (all lines)
    pts_pos = o[kind[o] == 1] - len(cum)                     # point ids in merged order
    seen = vcount[kind[o] == 1] - cstart[r[pts_pos]]         # vertices of its line at or before it
    segi = np.empty(len(points), dtype=np.int64)
    segi[pts_pos] = seen - 1
    segi = np.clip(segi, 0, nc[r] - 2)
    start_d = np.hypot(*(points - coords[cstart[r] + segi]).T)
    key = np.r_[(np.arange(len(coords)) - cstart[cidx]) - 0.5, segi + 0.0]
    sub = np.r_[np.zeros(len(coords)), start_d]
    allc = np.vstack([coords, points])
    o2 = np.lexsort((sub, key, lid))
    merged, mlid = allc[o2], lid[o2]
    keep = np.r_[True, (mlid[1:] != mlid[:-1]) | np.any(merged[1:] != merged[:-1], axis=1)]
    merged, mlid = merged[keep], mlid[keep]
    changed = np.bincount(mlid, minlength=len(lines)) != nc
    if changed.any():
        sel = changed[mlid]
        new = shapely.linestrings(merged[sel], indices=np.searchsorted(np.flatnonzero(changed), mlid[sel]))
        out = out.copy()
        out[lines[changed]] = new
    return out


# --------------------------------------------------------------------------- building
NO_LENGTH = "every road line is shorter than 1 mm (the node grid): its ends are one node"
"""Why a road file with lines gives no network (:func:`build_network`, :func:`roads_network`)."""


def build_network(roads: gpd.GeoDataFrame, *, source: str = "roads") -> Network:
    """Turn noded road pieces (projected) into a :class:`Network`.

    Nodes are the distinct line ends (matched at 1 mm). Self-loops are split in three
    pieces; of parallel edges between the same two nodes only the shortest stays. A line
    whose ends are one node even so (a loop or a line shorter than a few mm) is no edge.

    Parameters
    ----------
    source
        What the roads were read from (a file name), named in error messages.

    Raises
    ------
    InputDataError
        When there is no road, or no line of 1 mm or more (:data:`NO_LENGTH`), naming ``source``.
    CRSError
        When ``roads`` is not in a projected CRS.
    """
    ensure_projected(roads, "roads")
    if len(roads) == 0:
        raise InputDataError(f"{source}: no roads to build a network from")
    geoms = np.asarray(roads.geometry.values)
    attrs = roads.drop(columns="geometry").reset_index(drop=True)
    geoms, attrs, starts, ends = _without_points(*_split_loops(geoms, attrs))
    if len(geoms) == 0:
        raise InputDataError(f"{source}: no roads to build a network from: {NO_LENGTH}")
    xy, inverse = np.unique(np.vstack([starts, ends]), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    a, b = inverse[: len(geoms)], inverse[len(geoms):]
    flip = a > b
    geoms = np.where(flip, shapely.reverse(geoms), geoms)
    u, v = np.minimum(a, b), np.maximum(a, b)
    length = shapely.length(geoms)
    order = np.lexsort((length, v, u))
    keep = order[np.r_[True, (np.diff(u[order]) != 0) | (np.diff(v[order]) != 0)]]
    keep = np.sort(keep)
    edges = _edge_frame(u[keep], v[keep], length[keep], attrs.iloc[keep].reset_index(drop=True),
                        geoms[keep], roads.crs)
    nodes = gpd.GeoDataFrame({"kind": ["road"] * len(xy)}, geometry=shapely.points(xy), crs=roads.crs)
    nodes.index.name = "node_id"
    net = Network(nodes=nodes, edges=edges, crs=roads.crs.to_string())
    return _with_components(net)


def _without_points(geoms: np.ndarray, attrs: pd.DataFrame
                    ) -> tuple[np.ndarray, pd.DataFrame, np.ndarray, np.ndarray]:
    """The lines whose ends are two nodes (1 mm grid), their attributes and their rounded first and
    last points, ``(n, 2)`` each: a line whose ends round to one node (a zero-length way, a loop of a
    few mm too short to split) would be an edge from a node to itself."""
    if len(geoms) == 0:
        return geoms, attrs, np.zeros((0, 2)), np.zeros((0, 2))
    starts, ends = (np.round(xy, NODE_DIGITS) for xy in line_ends(geoms))
    line = ~(starts == ends).all(axis=1)
    if line.all():
        return geoms, attrs, starts, ends
    return geoms[line], attrs[line].reset_index(drop=True), starts[line], ends[line]


def _split_loops(geoms: np.ndarray, attrs: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    s, e = line_ends(geoms)
    loops = np.flatnonzero(np.all(np.round(s, NODE_DIGITS) == np.round(e, NODE_DIGITS), axis=1))
    if len(loops) == 0:
        return geoms, attrs
    halves = []
    for i in loops:
        g = geoms[i]
        # three pieces: two would be parallel edges between the same two nodes
        for a, b in ((0, 1 / 3), (1 / 3, 2 / 3), (2 / 3, 1)):
            halves.append(shapely.ops.substring(g, a, b, normalized=True))
    rest = np.setdiff1d(np.arange(len(geoms)), loops)
    new_geoms = np.concatenate([geoms[rest], np.array(halves, dtype=object)])
    new_attrs = pd.concat([attrs.iloc[rest], attrs.iloc[np.repeat(loops, 3)]], ignore_index=True)
    ok = shapely.length(new_geoms) > 0
    return new_geoms[ok], new_attrs[ok].reset_index(drop=True)


def _yes(value) -> bool:
    return value is not None and str(value).lower() not in ("", "no", "none", "nan", "false", "0")


def _width_m(value) -> float:
    try:
        w = float(str(value).split(";")[0].replace("m", "").strip())
    except (TypeError, ValueError):
        return float("nan")
    return w if 0 < w < 200 else float("nan")


def _edge_frame(u, v, length, attrs: pd.DataFrame, geoms, crs) -> gpd.GeoDataFrame:
    def col(name):
        return attrs[name].tolist() if name in attrs else [None] * len(u)

    data = {
        "u": np.asarray(u, dtype=np.int64), "v": np.asarray(v, dtype=np.int64),
        "length_m": np.asarray(length, dtype=float),
        "highway": col("highway"), "name": col("name"), "ref": col("ref"), "surface": col("surface"),
        "lanes": col("lanes"),
        "width_m": [_width_m(w) for w in col("width")] if "width" in attrs else col("width_m"),
        "bridge": [_yes(x) for x in col("bridge")], "tunnel": [_yes(x) for x in col("tunnel")],
        "layer": col("layer"), "osm_id": col("osm_id"),
        "kind": attrs["kind"].tolist() if "kind" in attrs else ["road"] * len(u),
        "site_id": col("site_id"), "site_ids": col("site_ids"),
        "component": np.zeros(len(u), dtype=np.int64),
    }
    edges = gpd.GeoDataFrame(data, geometry=list(geoms), crs=crs)
    edges.index.name = "edge_id"
    return edges


def _with_components(net: Network) -> Network:
    comp = component_labels(len(net.nodes), net.edges["u"].to_numpy(), net.edges["v"].to_numpy())
    edges = net.edges.assign(component=comp[net.edges["u"].to_numpy()])
    nodes = net.nodes.assign(component=comp)
    return replace(net, nodes=nodes, edges=edges)


def roads_network(roads: gpd.GeoDataFrame, *, crs: str = "auto", tolerance_m: float | None = None,
                  source: str = "roads") -> Network:
    """Project road lines (any CRS) and build the network.

    Parameters
    ----------
    roads
        Road lines with :data:`connectivity.load.ROAD_COLUMNS`.
    crs
        Target projected CRS, or ``"auto"`` for the local UTM zone.
    tolerance_m
        When given, lines are noded first (for road files that are not a network yet);
        OSM road edges from osmnx are already noded.
    source
        What the roads were read from (a file name), named in error messages.
    """
    if len(roads) == 0:
        raise InputDataError(f"{source}: no roads to build a network from")
    target = utm_crs(roads.to_crs("EPSG:4326"), source=source) if crs == "auto" else crs
    names = roads["osm_id"].tolist() if tolerance_m is None and "osm_id" in roads else None  # OSM edges: their way
    proj = project(roads, target, source, names=names)
    if tolerance_m is not None:
        proj = node_lines(proj, tolerance_m=tolerance_m)
        if len(proj) == 0:   # every line rounded to a point on the node grid
            raise InputDataError(f"{source}: no roads to build a network from: {NO_LENGTH}")
    net = build_network(proj, source=source)
    sizes = net.component_sizes
    if len(sizes) > 1:
        log.warning("road network has %d disconnected components (node counts: %s)", len(sizes),
                    ", ".join(str(s) for s in list(sizes.values())[:10]) + (" ..." if len(sizes) > 10 else ""))
    return net


# --------------------------------------------------------------------------- sites
def site_locations(sites: gpd.GeoDataFrame, merge_m: float) -> np.ndarray:
    """For each site, the row of the first site (by ``site_id``) of its location.

    Sites at most ``merge_m`` apart (metres, projected coordinates) are one location: a chain of
    such sites (a connected component of the "at most ``merge_m`` apart" graph) is one location
    when all its sites lie within ``merge_m`` of its first site (the location's point, where its
    lead-in starts). A chain reaching farther (sites 45 m apart with ``merge_m = 50``) is cut:
    its sites, by ``site_id``, each join the first earlier location within ``merge_m`` of them,
    or start one. So no site is farther than ``merge_m`` from its location's point, and the
    result does not depend on the row order. ``merge_m = 0`` keeps every site a location of its own.
    """
    n = len(sites)
    if n == 0 or merge_m <= 0:
        return np.arange(n, dtype=np.int64)
    geoms = np.asarray(sites.geometry.values)
    xy = np.column_stack([shapely.get_x(geoms), shapely.get_y(geoms)])
    ok = np.flatnonzero(np.isfinite(xy).all(axis=1))   # a missing point merges with nothing
    pairs = ok[cKDTree(xy[ok]).query_pairs(r=merge_m, output_type="ndarray")] if len(ok) else np.zeros((0, 2), int)
    comp = component_labels(n, pairs[:, 0], pairs[:, 1])
    by_id = np.argsort(sites["site_id"].astype(str).to_numpy(), kind="stable")
    first = np.full(int(comp.max()) + 1, -1, dtype=np.int64)
    for i in by_id[::-1]:   # the last write wins: the lowest site_id of each location
        first[comp[i]] = i
    out = first[comp]
    spread = np.hypot(*(xy - xy[out]).T)
    for c in np.unique(comp[spread > merge_m]):   # a chain reaching farther than merge_m: cut it
        members = by_id[comp[by_id] == c]
        leaders: list[int] = []
        for i in members:
            near = np.flatnonzero(np.hypot(*(xy[leaders] - xy[i]).T) <= merge_m)
            out[i] = leaders[near[0]] if len(near) else i
            if not len(near):
                leaders.append(i)
    return out


ON_ROAD_M = 0.01
"""A site this close to its road edge (metres) stands on the road: it joins the road at its foot
node and gets no lead-in (a lead-in this short would be a degenerate line in the outputs)."""


MAIN_NETWORK = "attached_to_main"
"""``status`` of a site that :func:`attach_sites` joined to a main road network rather than to a
nearer road piece apart from it."""

MAIN_MIN_NODES = 20
"""Nodes of a road network component that counts as a network of its own (a village, a second town
in the extract) beside the largest: smaller ones are pieces (a driveway, a footpath, a clipped stub)."""


def main_components(net: Network) -> np.ndarray:
    """Labels of the road network's main components: the largest, and every other with at least
    :data:`MAIN_MIN_NODES` nodes."""
    sizes = net.nodes["component"].value_counts()   # largest first, the labels of the edges' ``component``
    return np.array([c for i, (c, n) in enumerate(sizes.items()) if i == 0 or n >= MAIN_MIN_NODES], dtype=np.int64)


def nearest_road_edges(road: gpd.GeoDataFrame, points: np.ndarray, *, max_distance_m: float,
                       main: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The road edge each point joins: its nearest, unless that lies on a piece apart from the main networks.

    A point whose nearest edge is in no component of ``main`` joins the nearest edge of those
    components instead when one lies within ``max_distance_m``; otherwise its nearest edge.

    Parameters
    ----------
    road
        Road edges with ``component``.
    points
        Points in the edges' CRS.
    max_distance_m
        Largest point-to-edge distance (metres) that still joins a point.
    main
        The ``component`` labels of the main networks (:func:`main_components`).

    Returns
    -------
    For each point: the row (position) in ``road`` of its edge, -1 when none lies within
    ``max_distance_m``; the distance to it in metres (NaN when none); and whether it was
    moved off a nearer edge outside them.
    """
    geoms = np.asarray(road.geometry.values)
    row, dist_m = _nearest_within(geoms, points, max_distance_m)
    is_main = np.isin(road["component"].to_numpy(), main)
    off = np.flatnonzero((row >= 0) & ~is_main[np.maximum(row, 0)])
    on_main = np.flatnonzero(is_main)
    moved = np.zeros(len(points), dtype=bool)
    if len(off) and len(on_main):
        main_row, main_dist = _nearest_within(geoms[on_main], points[off], max_distance_m)
        found = main_row >= 0
        row[off[found]] = on_main[main_row[found]]
        dist_m[off[found]] = main_dist[found]
        moved[off[found]] = True
    return row, dist_m, moved


def _nearest_within(geoms: np.ndarray, points: np.ndarray, max_distance_m: float) -> tuple[np.ndarray, np.ndarray]:
    """For each point, the position of its nearest geometry within ``max_distance_m`` (-1: none) and
    the distance to it in metres (NaN: none)."""
    (at, hit), dist = shapely.STRtree(geoms).query_nearest(points, max_distance=max_distance_m,
                                                           return_distance=True, all_matches=False)
    row = np.full(len(points), -1, dtype=np.int64)
    dist_m = np.full(len(points), np.nan)
    row[at] = hit
    dist_m[at] = dist
    return row, dist_m


def attach_sites(net: Network, sites: gpd.GeoDataFrame, *, max_distance_m: float,
                 merge_m: float = 0.0) -> tuple[Network, gpd.GeoDataFrame]:
    """Join sites to the network through the foot of the perpendicular on the nearest road edge.

    Sites closer than ``merge_m`` to each other (transitively, :func:`site_locations`) are
    one location: a building that is a site of several operators, or sites of two
    operators a few centimetres apart. Each location is attached once, from the point of
    its first site by ``site_id``: the nearest road edge is split at the foot point (a new
    ``split`` node, unless the foot is within 1 cm of an existing node); the location
    becomes a ``site`` node joined by one ``lead_in`` edge whose length is the perpendicular
    distance, shared by every operator with a site there (one trench, each operator its
    own ducts). A location within :data:`ON_ROAD_M` (1 cm) of its road stands on it: its node
    is the foot's (road or split) node, with no site node, no lead-in and ``lead_in_m`` 0, so
    the network holds no zero-length edge. Locations farther than ``max_distance_m`` from
    every road get ``status = "too_far"`` and no node.

    A location whose nearest road edge lies on a piece apart from the main networks (a
    driveway, a lone footpath piece, a stub clipped at the extract's edge) joins the nearest
    edge of a main network instead when one lies within ``max_distance_m``
    (:func:`nearest_road_edges`); its sites get ``status = "attached_to_main"``
    (:data:`MAIN_NETWORK`). An operator's ducts join only its own sites through roads they
    share; on the piece, the location would be cut off from the others. The main networks
    are the largest component and every other of at least :data:`MAIN_MIN_NODES` nodes (a
    village or a second town in the extract, :func:`main_components`), not the components of
    the operators' hubs: hubs are sites attached by this same call, and a plan need not have any.

    Parameters
    ----------
    sites
        Points with a unique ``site_id``, in the network's CRS.
    max_distance_m
        Largest site-to-road distance (metres) that still joins a site.
    merge_m
        Sites closer than this (metres) share one site node and lead-in; 0 attaches every
        site on its own.

    Returns
    -------
    The new network and the sites (one row each, own geometry) with ``node_id`` (Int64,
    shared by the sites of one location), ``lead_in_m`` (of the location's lead-in) and
    ``status`` (``attached``, ``attached_to_main`` or ``too_far``).
    """
    if sites.crs is None or sites.crs.to_string() != net.crs:
        raise CRSError(f"sites are in {sites.crs}, the network in {net.crs}")
    sites = sites.reset_index(drop=True)
    loc_first = site_locations(sites, merge_m)
    locs, loc_of = np.unique(loc_first, return_inverse=True)   # location l stands at site locs[l]
    loc_of = loc_of.ravel()
    all_ids = sites["site_id"].tolist()
    members: list[list] = [[] for _ in range(len(locs))]
    for i in np.argsort(sites["site_id"].astype(str).to_numpy(), kind="stable"):
        members[loc_of[i]].append(all_ids[i])
    if len(locs) < len(sites):
        log.info("%d sites at %d locations (sites closer than %g m share one lead-in)",
                 len(sites), len(locs), merge_m)
    road = net.edges[net.edges["kind"] == "road"]
    pts = np.asarray(sites.geometry.values)[locs]
    hit, lead, moved = nearest_road_edges(road, pts, max_distance_m=max_distance_m, main=main_components(net))
    edge_of_loc = np.where(hit >= 0, road.index.to_numpy()[np.maximum(hit, 0)], -1).astype(np.int64)
    loc_node = np.full(len(locs), -1, dtype=np.int64)

    new_nodes: list[tuple[str, shapely.Point]] = []
    replaced: set[int] = set()
    new_edges: list[dict] = []
    next_node = len(net.nodes)
    touched = np.unique(edge_of_loc[edge_of_loc >= 0])
    records = net.edges.loc[touched].drop(columns="geometry").to_dict("index")
    lines_of = dict(zip(touched.tolist(), net.edges.geometry.loc[touched]))
    order = np.lexsort((np.arange(len(locs)), edge_of_loc))
    order = order[edge_of_loc[order] >= 0]
    bounds_idx = np.flatnonzero(np.r_[True, np.diff(edge_of_loc[order]) != 0, True]) if len(order) else np.zeros(1, int)
    for start, stop in zip(bounds_idx[:-1], bounds_idx[1:]):
        group = order[start:stop]
        eid = int(edge_of_loc[group[0]])
        rec, line = records[eid], lines_of[eid]
        along = shapely.line_locate_point(line, pts[group])
        feet = shapely.line_interpolate_point(line, along)
        stops: dict[float, int] = {}
        cut_at: dict[float, float] = {}  # exact distance of each stop (the key is rounded to 1 cm)
        split_at: dict[float, shapely.Point] = {}  # the split node of each stop
        for k in np.lexsort((group, along)):
            l_i, d, foot = int(group[k]), float(along[k]), feet[k]
            if d <= 0.01:
                at = int(rec["u"])
                foot = net.nodes.geometry.loc[at]  # the lead-in starts exactly at its node
            elif d >= line.length - 0.01:
                at = int(rec["v"])
                foot = net.nodes.geometry.loc[at]
            else:
                key = round(d, 2)
                if key not in stops:
                    stops[key] = next_node
                    cut_at[key] = float(d)
                    split_at[key] = foot
                    new_nodes.append(("split", foot))
                    next_node += 1
                at = stops[key]
                foot = split_at[key]
            if lead[l_i] <= ON_ROAD_M:  # on the road: the location is its foot's node, no lead-in
                loc_node[l_i] = at
                lead[l_i] = 0.0
                continue
            site_node = next_node
            new_nodes.append(("site", pts[l_i]))
            next_node += 1
            loc_node[l_i] = site_node
            new_edges.append({"u": at, "v": site_node,  # at < site_node: the site node is the newest
                              "geometry": shapely.LineString([foot, pts[l_i]]),
                              "kind": "lead_in", "site_id": all_ids[locs[l_i]], "site_ids": tuple(members[l_i]),
                              "highway": "lead_in"})
        if stops:
            replaced.add(eid)
            cuts = sorted(stops.items())
            chain = [int(rec["u"])] + [n for _, n in cuts] + [int(rec["v"])]
            bounds = [0.0] + [cut_at[d] for d, _ in cuts] + [line.length]
            for a, b, d0, d1 in zip(chain[:-1], chain[1:], bounds[:-1], bounds[1:]):
                piece = shapely.ops.substring(line, d0, d1)
                new_edges.append({**rec, "u": min(a, b), "v": max(a, b),
                                  "geometry": piece if a < b else shapely.reverse(piece)})
    node_of_site = loc_node[loc_of]
    node_ids = pd.array([int(x) if x >= 0 else pd.NA for x in node_of_site], dtype="Int64")
    status = np.where(node_of_site < 0, "too_far", np.where(moved[loc_of], MAIN_NETWORK, "attached")).astype(object)
    sites = sites.assign(node_id=node_ids, lead_in_m=lead[loc_of], status=status)
    if (status == "too_far").any():
        far = sites.loc[status == "too_far", "site_id"].tolist()
        log.warning("%d site(s) farther than %.0f m from any road, not connected: %s",
                    len(far), max_distance_m, ", ".join(map(str, far[:10])) + (" ..." if len(far) > 10 else ""))
    if not new_edges:
        return net, sites
    added_nodes = gpd.GeoDataFrame({"kind": [k for k, _ in new_nodes]}, geometry=[g for _, g in new_nodes], crs=net.crs)
    nodes = pd.concat([net.nodes[["kind", "geometry"]], added_nodes], ignore_index=True)
    nodes = gpd.GeoDataFrame(nodes, geometry="geometry", crs=net.crs)
    nodes.index.name = "node_id"
    kept = net.edges.drop(index=sorted(replaced))
    if "site_ids" not in kept:   # a network built before lead-ins had site_ids
        kept = kept.assign(site_ids=None)
    add = gpd.GeoDataFrame(new_edges, geometry="geometry", crs=net.crs)
    add["length_m"] = add.geometry.length
    for c in ("bridge", "tunnel"):
        add[c] = add[c].fillna(False).astype(bool) if c in add else False
    edges = pd.concat([kept.drop(columns="component"), add[[c for c in kept.columns if c in add] ]],
                      ignore_index=True)
    edges = gpd.GeoDataFrame(edges, geometry="geometry", crs=net.crs)
    edges.index.name = "edge_id"
    edges["u"] = edges["u"].astype(np.int64)
    edges["v"] = edges["v"].astype(np.int64)
    return _with_components(Network(nodes=nodes, edges=edges, crs=net.crs)), sites
