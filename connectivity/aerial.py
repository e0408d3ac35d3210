"""Aerial to underground: overhead lines and pole rows matched to the roads they follow.

:func:`match_aerial` finds the road edges that run along an overhead line (the share of
the edge inside a buffer around the lines) or along a row of poles (enough poles within
the buffer). Matched edges are corridors: the planner can price their trench as a reused
corridor (``reuse`` discount of the cost model) and, as an option, require them in the
plan so the overhead line goes underground. :func:`aerial_status` says span by span and
pole by pole what a plan takes down: a span when it runs along undergrounded streets where
every operator it carries has ducts, a pole only when every span ending at it comes down and
every operator on it has ducts there (:func:`removal_summary` counts them). Data without
poles (or without lines) is normal: the missing layer simply matches nothing.
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


SPAN_MIN_SHARE = 0.9
"""A span comes down when at least this share of its length lies along undergrounded street."""


def spans_of(lines: Any) -> Any:
    """Overhead lines cut into spans (one row per pair of consecutive vertices), with
    ``span_id`` ('<line id>#<n>'), ``line_id``, ``owner``, ``kind`` and ``cables`` kept."""
    import geopandas as gpd
    import shapely

    rows, geoms = [], []
    if lines is None or len(lines) == 0:
        return gpd.GeoDataFrame({"span_id": [], "line_id": [], "owner": [], "kind": []}, geometry=[],
                                crs=None if lines is None else lines.crs)
    keep = ~lines["kind"].astype(str).str.contains("cable").to_numpy() if "kind" in lines else np.ones(len(lines), bool)
    ids = lines["osm_id"].astype(str).tolist() if "osm_id" in lines else [f"line/{i + 1}" for i in range(len(lines))]
    for i in np.flatnonzero(keep):
        rec = lines.iloc[i]
        coords = shapely.get_coordinates(rec.geometry)
        for j in range(len(coords) - 1):
            if np.allclose(coords[j], coords[j + 1]):
                continue
            rows.append({"span_id": f"{ids[i]}#{j + 1}", "line_id": ids[i], "owner": str(rec.get("owner") or ""),
                         "kind": str(rec.get("kind") or ""), "cables": rec.get("cables")})
            geoms.append(shapely.LineString(coords[j:j + 2]))
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=lines.crs)


def _operators_of(rec: Mapping, operators: Sequence[str], kinds: Sequence[str], group: str
                  ) -> tuple[list[int], str, bool]:
    """Scenario operators whose cables a record carries, the first foreign owner ('' none),
    and whether any one of them will do.

    Its owner and every operator it lists cables for (all of them must go underground);
    with neither: the operators of the record's group (the line or pole is someone's of that
    group: any one of them with ducts there takes it underground)."""
    index = {op: k for k, op in enumerate(operators)}
    owner = str(rec.get("owner") or "")
    ks = []
    foreign = ""
    if owner:
        if owner in index:
            ks.append(index[owner])
        else:
            foreign = owner
    cables = rec.get("cables")
    if isinstance(cables, dict):
        for op, n in cables.items():
            if op in index and n and index[op] not in ks:
                ks.append(index[op])
            elif op not in index and n and not foreign:
                foreign = op
    if not ks and not foreign:
        return [k for k in range(len(operators)) if kinds[k] == group], "", True
    return sorted(ks), foreign, False


def _missing(ks: Sequence[int], any_of: bool, operators: Sequence[str], on: Any) -> list[str]:
    """Operators of ``ks`` without ducts where it matters (``on(k)`` false); with ``any_of``
    none is missing when one of them has ducts there."""
    short = [operators[k] for k in ks if not on(k)]
    if any_of:
        return [] if len(short) < len(ks) else (["its group's operators"] if ks else ["no operator of its group"])
    return short


def aerial_status(edges: Any, use: np.ndarray, operators: Sequence[str], kinds: Sequence[str], *,
                  streets: np.ndarray, lines: Any = None, poles: Any = None, buffer_m: float = 15.0,
                  pole_distance_m: float | None = None, pole_span_m: float = 3.0) -> Any:
    """Span by span and pole by pole: does it come down?

    A span comes down when at least :data:`SPAN_MIN_SHARE` of it lies within ``buffer_m``
    of ``streets`` where every operator whose cables it carries (its owner and cables,
    else one operator of its group) has ducts in the plan (``use``). A pole comes down when
    it stands within ``pole_distance_m`` (default ``buffer_m``) of such a street for every
    operator it carries (its own records, else one of its group) and every span ending at
    it (within ``pole_span_m``) comes down: a pole with one line still aerial stays.

    Returns
    -------
    GeoDataFrame
        ``feature`` ('span'|'pole'), ``id``, ``owner``, ``kind``, ``length_m`` (spans),
        ``removed`` (bool), ``reason`` ('' when removed), in the edges' CRS.
    """
    import geopandas as gpd
    import pandas as pd
    import shapely

    kinds_of = dict(zip(operators, kinds))
    geoms = np.asarray(edges.geometry.values)
    use = np.asarray(use, dtype=bool)
    streets = np.asarray(streets, dtype=bool)
    K = len(operators)
    pole_m = buffer_m if pole_distance_m is None else pole_distance_m

    def zone(mask: np.ndarray, distance: float) -> Any:
        sel = np.flatnonzero(mask)
        return shapely.union_all(shapely.buffer(geoms[sel], distance)) if len(sel) else None

    zones = [zone(use[k] & streets, buffer_m) for k in range(K)]  # undergrounded streets with k's ducts
    street_zone = zone(streets & use.any(axis=0), buffer_m)
    pole_zones = zones if pole_m == buffer_m else [zone(use[k] & streets, pole_m) for k in range(K)]
    pole_street = street_zone if pole_m == buffer_m else zone(streets & use.any(axis=0), pole_m)

    spans = spans_of(lines)
    recs: list[dict] = []
    out_geoms: list = []
    span_removed = np.zeros(len(spans), dtype=bool)
    for i, rec in enumerate(spans.drop(columns=spans.geometry.name).to_dict("records") if len(spans) else []):
        g = spans.geometry.iloc[i]
        L = float(g.length)
        ks, foreign, any_of = _operators_of(rec, operators, kinds,
                                            _group_of(rec.get("kind"), rec.get("owner"), kinds_of))
        if foreign:
            reason = f"carries {foreign}'s cables (not in the plan)"
        elif street_zone is None or float(g.intersection(street_zone).length) < SPAN_MIN_SHARE * L:
            reason = "not along an undergrounded street"
        else:
            short = _missing(ks, any_of, operators, lambda k: zones[k] is not None
                             and float(g.intersection(zones[k]).length) >= SPAN_MIN_SHARE * L)
            reason = f"{', '.join(short)} has no ducts on this street" if short else ""
        span_removed[i] = reason == ""
        recs.append({"feature": "span", "id": rec["span_id"], "owner": rec["owner"], "kind": rec["kind"],
                     "length_m": round(L, 2), "removed": bool(span_removed[i]), "reason": reason})
        out_geoms.append(g)
    if poles is not None and len(poles):
        pg = np.asarray(poles.geometry.values)
        ends = {}
        if len(spans):
            sg = np.asarray(spans.geometry.values)
            p_idx, s_idx = shapely.STRtree(sg).query(pg, predicate="dwithin", distance=pole_span_m)
            for p, s in zip(p_idx.tolist(), s_idx.tolist()):
                ends.setdefault(p, []).append(s)
        ids = poles["osm_id"].astype(str).tolist() if "osm_id" in poles else [f"pole/{i + 1}" for i in range(len(poles))]
        for i, rec in enumerate(poles.drop(columns=poles.geometry.name).to_dict("records")):
            p = pg[i]
            carried = ends.get(i, [])
            group = _group_of(rec.get("kind"), rec.get("owner"), kinds_of)
            ks, foreign, any_of = _operators_of(rec, operators, kinds, group)
            aerial = [spans["span_id"].iloc[s] for s in carried if not span_removed[s]]
            if foreign:
                reason = f"carries {foreign}'s cables (not in the plan)"
            elif aerial:
                reason = f"carries a line still aerial ({aerial[0]})"
            elif pole_street is None or not pole_street.covers(p):
                reason = "not on an undergrounded street"
            else:
                if carried and any_of:  # its spans are down and the pole's own records name nobody
                    ks = []
                short = _missing(ks, any_of and not carried, operators,
                                 lambda k: pole_zones[k] is not None and pole_zones[k].covers(p))
                reason = f"{', '.join(short)} has no ducts on this street" if short else ""
            recs.append({"feature": "pole", "id": ids[i], "owner": str(rec.get("owner") or ""),
                         "kind": str(rec.get("kind") or ""), "length_m": None, "removed": reason == "",
                         "reason": reason})
            out_geoms.append(p)
    cols = ["feature", "id", "owner", "kind", "length_m", "removed", "reason"]
    return gpd.GeoDataFrame(pd.DataFrame(recs, columns=cols), geometry=out_geoms, crs=edges.crs)


def poles_on_streets(edges: Any, streets: np.ndarray, poles: Any, buffer_m: float) -> int:
    """Poles within ``buffer_m`` of the ``streets`` (count)."""
    import shapely

    sel = np.flatnonzero(np.asarray(streets, dtype=bool))
    if poles is None or len(poles) == 0 or len(sel) == 0:
        return 0
    p_idx, _ = shapely.STRtree(np.asarray(edges.geometry.values)[sel]).query(
        np.asarray(poles.geometry.values), predicate="dwithin", distance=buffer_m)
    return int(len(np.unique(p_idx)))


def removal_summary(status: Any) -> dict[str, Any]:
    """``poles_removed``, ``poles_kept``, ``spans_removed(_km)``, ``spans_kept(_km)`` of
    :func:`aerial_status` (zeros for None)."""
    if status is None or len(status) == 0:
        return {"poles_removed": 0, "poles_kept": 0, "spans_removed": 0, "spans_kept": 0, "spans_removed_km": 0.0,
                "spans_kept_km": 0.0}
    poles = status[status["feature"] == "pole"]
    spans = status[status["feature"] == "span"]
    length = spans["length_m"].astype(float)
    return {"poles_removed": int(poles["removed"].sum()), "poles_kept": int((~poles["removed"].astype(bool)).sum()),
            "spans_removed": int(spans["removed"].sum()), "spans_kept": int((~spans["removed"].astype(bool)).sum()),
            "spans_removed_km": round(float(length[spans["removed"].astype(bool)].sum()) / 1000, 3),
            "spans_kept_km": round(float(length[~spans["removed"].astype(bool)].sum()) / 1000, 3)}
