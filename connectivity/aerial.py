"""Aerial to underground: overhead lines and pole rows matched to the roads they follow.

:func:`match_aerial` finds the road edges that run along an overhead line (the share of
the edge inside a buffer around the lines) or along a row of poles (enough poles within
the buffer). Matched edges are corridors: the planner can price their trench as a reused
corridor (``reuse`` discount of the cost model) and, as an option, require them in the
plan so the overhead line goes underground. :func:`aerial_removal` reports what a plan
removes: overhead kilometres inside the buffer of planned matched edges and poles within a
few metres of planned trench along a matched line or pole row. Data without poles (or
without lines) is normal: the missing layer simply matches nothing.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from connectivity.errors import CRSError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AerialMatch:
    """Road edges that carry an overhead line or pole row.

    Attributes
    ----------
    share
        ``(m,)`` share of each edge's length within ``buffer_m`` of an overhead line (0-1).
    poles
        ``(m,)`` number of poles within ``buffer_m`` of each edge.
    group
        ``(m,)`` object: 'power', 'telecom' or None, the group of the matched line (the
        longest overlap) or pole row.
    owner
        ``(m,)`` object: owner of the matched line or poles ('' when unknown, None when unmatched).
    matched
        ``(m,)`` bool: ``share >= min_share`` or ``poles >= min_poles``.
    buffer_m
        The buffer used (metres).
    """

    share: np.ndarray
    poles: np.ndarray
    group: np.ndarray
    owner: np.ndarray
    matched: np.ndarray
    buffer_m: float

    @property
    def n_matched(self) -> int:
        return int(self.matched.sum())


def _group_of(kind: Any, owner: Any, operator_kinds: Mapping[str, str]) -> str:
    if isinstance(owner, str) and owner in operator_kinds:
        return operator_kinds[owner]
    k = str(kind or "").lower()
    if k.startswith("telecom") or "communication" in k or k == "mast":
        return "telecom"
    return "power"


def _check_crs(frame: Any, crs: Any, what: str) -> None:
    if frame is None or len(frame) == 0:
        return
    if frame.crs is None or crs is None or frame.crs != crs:
        raise CRSError(f"{what} are in {frame.crs}, the road edges in {crs}")
    if frame.crs.is_geographic:
        raise CRSError(f"{what} are in degrees ({frame.crs}); a projected CRS in metres is needed")


def match_aerial(edges: Any, lines: Any = None, poles: Any = None, *, buffer_m: float = 15.0,
                 min_share: float = 0.5, min_poles: int = 2,
                 operator_kinds: Mapping[str, str] | None = None) -> AerialMatch:
    """Match overhead lines and pole rows to the road edges they run along.

    Parameters
    ----------
    edges
        Road edges (GeoDataFrame, projected CRS in metres), index = edge id order.
    lines
        Overhead lines (LineString; ``kind``, ``owner``) or None. Underground cables
        (``kind`` containing 'cable') are ignored.
    poles
        Poles (Point; ``kind``, ``owner``) or None.
    buffer_m
        Distance from the road centre line within which a line or pole follows the road (metres).
    min_share
        Share of the edge length that must lie within the buffer of a line.
    min_poles
        Poles within the buffer that make a pole row along the edge.
    operator_kinds
        Operator name -> 'telecom'|'power', to classify a line by its owner.

    Raises
    ------
    CRSError
        When the layers are not in the edges' projected CRS.
    """
    import shapely

    m = len(edges)
    kinds = dict(operator_kinds or {})
    share = np.zeros(m)
    n_poles = np.zeros(m, dtype=np.int64)
    group = np.full(m, None, dtype=object)
    owner = np.full(m, None, dtype=object)
    if m == 0:
        return AerialMatch(share, n_poles, group, owner, np.zeros(0, bool), buffer_m)
    if edges.crs is not None and edges.crs.is_geographic:
        raise CRSError(f"road edges are in degrees ({edges.crs}); a projected CRS in metres is needed")
    geoms = np.asarray(edges.geometry.values)
    lengths = shapely.length(geoms)
    if lines is not None and len(lines):
        _check_crs(lines, edges.crs, "overhead lines")
        keep = ~lines["kind"].astype(str).str.contains("cable") if "kind" in lines else np.ones(len(lines), bool)
        ov = lines[np.asarray(keep)]
        if len(ov):
            lgeoms = np.asarray(ov.geometry.values)
            buffers = shapely.buffer(lgeoms, buffer_m)
            tree = shapely.STRtree(buffers)
            e_idx, l_idx = tree.query(geoms, predicate="intersects")
            best = np.zeros(m)
            covered: dict[int, list] = {}
            for e, li in zip(e_idx.tolist(), l_idx.tolist()):
                inside = shapely.intersection(geoms[e], buffers[li])
                L = float(shapely.length(inside))
                covered.setdefault(e, []).append(buffers[li])
                if L > best[e]:
                    best[e] = L
                    row = ov.iloc[li]
                    owner[e] = str(row.get("owner", "") or "")
                    group[e] = _group_of(row.get("kind"), row.get("owner"), kinds)
            for e, bufs in covered.items():
                inside = shapely.intersection(geoms[e], shapely.union_all(bufs))
                share[e] = min(1.0, float(shapely.length(inside)) / lengths[e]) if lengths[e] > 0 else 0.0
    if poles is not None and len(poles):
        _check_crs(poles, edges.crs, "poles")
        pgeoms = np.asarray(poles.geometry.values)
        tree = shapely.STRtree(pgeoms)
        e_idx, p_idx = tree.query(geoms, predicate="dwithin", distance=buffer_m)
        counts = np.bincount(e_idx, minlength=m)
        n_poles[:] = counts
        for e in np.flatnonzero((counts >= min_poles) & (share < min_share)):
            rows = poles.iloc[p_idx[e_idx == e]]
            own = rows["owner"].astype(str).mode().iloc[0] if "owner" in rows else ""
            kind = rows["kind"].astype(str).mode().iloc[0] if "kind" in rows else ""
            owner[e] = own
            group[e] = _group_of(kind, own, kinds)
    matched = (share >= min_share) | (n_poles >= min_poles)
    group[~matched] = None
    owner[~matched] = None
    logger.info("aerial: %d of %d road edges follow an overhead line or pole row", int(matched.sum()), m)
    return AerialMatch(share=share, poles=n_poles, group=group, owner=owner, matched=matched, buffer_m=buffer_m)


def required_corridors(match: AerialMatch, *, operators: Sequence[Any],
                       active: Sequence[str]) -> dict[str, np.ndarray]:
    """Operator -> matched edge ids it must take underground.

    A matched edge goes to the operator that owns its line (when it is an active operator),
    else to the first active operator of the line's group in operator order; edges of a
    group with no active operator stay optional.
    """
    names = [o.name for o in operators]
    kind = {o.name: o.kind for o in operators}
    first = {}
    for o in operators:
        if o.name in active and o.kind not in first:
            first[o.kind] = o.name
    out: dict[str, list[int]] = {n: [] for n in names}
    for e in np.flatnonzero(match.matched):
        own = match.owner[e]
        if own in active and kind.get(own) == match.group[e]:
            out[own].append(int(e))
        elif match.group[e] in first:
            out[first[match.group[e]]].append(int(e))
    return {n: np.array(v, dtype=np.int64) for n, v in out.items() if v}


@dataclass(frozen=True)
class AerialRemoval:
    """What a plan takes off the poles.

    Attributes
    ----------
    overhead_km_removed
        Kilometres of overhead line within the buffer of planned matched edges.
    poles_removable
        Poles within ``pole_distance_m`` of planned trench on a matched edge.
    pole_index
        Row positions of those poles in the poles frame.
    """

    overhead_km_removed: float
    poles_removable: int
    pole_index: np.ndarray


def aerial_removal(match: AerialMatch, edges: Any, planned: np.ndarray, *, lines: Any = None, poles: Any = None,
                   pole_distance_m: float = 10.0) -> AerialRemoval:
    """Overhead km removed and poles that can go when the ``planned`` edges get ducts.

    Parameters
    ----------
    planned
        Boolean mask over edges: the plan digs a trench there.
    pole_distance_m
        A pole on a matched edge closer than this to the planned trench (road centre line)
        can be removed (metres).
    """
    import shapely

    sel = np.flatnonzero(np.asarray(planned, dtype=bool) & match.matched)
    empty = AerialRemoval(0.0, 0, np.zeros(0, dtype=np.int64))
    if len(sel) == 0:
        return empty
    geoms = np.asarray(edges.geometry.values)[sel]
    km = 0.0
    if lines is not None and len(lines):
        keep = ~lines["kind"].astype(str).str.contains("cable") if "kind" in lines else np.ones(len(lines), bool)
        ov = np.asarray(lines[np.asarray(keep)].geometry.values)
        if len(ov):
            zone = shapely.union_all(shapely.buffer(geoms, match.buffer_m))
            km = float(shapely.length(shapely.intersection(ov, zone)).sum()) / 1000.0
    idx = np.zeros(0, dtype=np.int64)
    if poles is not None and len(poles):
        tree = shapely.STRtree(geoms)
        p_idx, _ = tree.query(np.asarray(poles.geometry.values), predicate="dwithin", distance=pole_distance_m)
        idx = np.unique(p_idx).astype(np.int64)
    return AerialRemoval(overhead_km_removed=km, poles_removable=int(len(idx)), pole_index=idx)
