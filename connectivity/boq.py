"""The bill of quantities of a joint duct plan and its duct and manhole frames.

Manholes are placed by :mod:`connectivity.design.manholes` (per group, at sites,
junctions and every ``spacing_m`` along runs); this module prices and lists them.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from connectivity.design.layout import PlanLayout, plan_manholes
from connectivity.design.manholes import place_manholes  # noqa: F401  (re-exported)
from connectivity.design.problem import GROUPS, DesignProblem, JointPlan

if TYPE_CHECKING:  # pragma: no cover
    from connectivity.costs import CostModel, EdgeCosts

logger = logging.getLogger(__name__)


def bill_of_quantities(problem: DesignProblem, plan: JointPlan, costs: "EdgeCosts", model: "CostModel", *,
                       highway: Sequence[Any] | None = None,
                       diameters_mm: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """Bill of quantities of a plan: rows with ``item``, ``category``, ``unit``, ``quantity``,
    ``unit_cost_thb``, ``cost_thb`` and ``operator`` (the owner of ducts; the group's
    operators for manholes; 'all' for shared trench, crossings and contingency), plus
    ``cost_key`` (the cost-model keys the row is priced with, '+'-joined, e.g.
    ``open_cut.residential``) and ``terms`` (``{cost key: THB}`` summing to ``cost_thb``;
    not a CSV column), which :mod:`connectivity.economics` re-prices over the cost ranges.

    Trench by type and road class (metres), crossing bores, the joint-trench surcharge,
    each operator's ducts (duct-metres), manholes per group, and the contingency. The rows
    sum to ``plan.cost x (1 + contingency)``, the plan's total cost.

    Parameters
    ----------
    highway
        Road class of every edge (for item names); default unnamed.
    diameters_mm
        Each operator's duct diameter (for item names).
    """
    modes = plan.modes(problem)
    used = np.flatnonzero(modes >= 0)
    rows: list[dict[str, Any]] = []
    hw = np.asarray(highway, dtype=object) if highway is not None else np.full(problem.n_edges, None, dtype=object)
    label = {0: "telecom", 1: "power", 2: "joint"}
    groups: dict[tuple, list[float]] = defaultdict(lambda: [0.0, 0.0])
    group_terms: dict[tuple, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for e in used:
        md = int(modes[e])
        col = md if md < 2 else 1
        ttype = str(costs.trench_type[e, md])
        key = ("trench", ttype, str(hw[e] or "road"), label[md])
        c = float(costs.main[e, col])
        groups[key][0] += float(problem.length_m[e])
        groups[key][1] += c
        mob = float(costs.structure_bores[e]) * model.hdd_mobilisation
        for k, part in _trench_terms(model, ttype, hw[e], c, mob).items():
            group_terms[key][k] += part
    for key, (q, c) in sorted(groups.items()):
        cat, ttype, h, lab = key
        if q <= 0 and c == 0:
            continue   # nothing dug: no metre, no baht
        rows.append(_with_terms(dict(item=f"trench {ttype}, {h} ({lab})", category="trench", unit="m", quantity=q,
                                     unit_cost_thb=c / q if q else 0.0, cost_thb=c, operator="all"),
                                group_terms[key]))
    bores = float(costs.bores[used].sum() - costs.structure_bores[used].sum())   # the crossings' bores
    crossing = float(costs.crossing[used].sum())
    if crossing > 0:
        mob = bores * model.hdd_mobilisation
        rows.append(_with_terms(dict(item="HDD crossing under major road (half bore per side-road end)",
                                     category="crossing", unit="bore", quantity=bores,
                                     unit_cost_thb=crossing / bores if bores else 0.0, cost_thb=crossing,
                                     operator="all"),
                                {"hdd.per_m": crossing - mob, "hdd.mobilisation_per_bore": mob}))
    joint = used[modes[used] == 2]
    if len(joint):
        q = float(problem.length_m[joint].sum())
        c = float(costs.surcharge[joint].sum())
        rows.append(_with_terms(dict(item=f"joint trench extra width (>= {model.separation_mm:g} mm "
                                          "power/telecom separation)",
                                     category="joint_surcharge", unit="m", quantity=q,
                                     unit_cost_thb=c / q if q else 0.0, cost_thb=c, operator="all"),
                                {"joint_trench.surcharge_fraction": c}))
    counts = problem.duct_counts()
    existing = problem.existing if problem.existing is not None else np.zeros_like(plan.use)
    for k, op in enumerate(problem.operators):
        new = plan.use[k] & ~existing[k]
        old = plan.use[k] & existing[k]
        if old.any():
            metres = float((problem.length_m[old] * counts[k, old]).sum())
            c = float(problem.duct_cost[k, old].sum())
            rows.append(_with_terms(dict(item="cables in free existing ducts (no trench)", category="existing_duct",
                                         unit="duct-m", quantity=metres, unit_cost_thb=c / metres if metres else 0.0,
                                         cost_thb=c, operator=op),
                                    {("rent.per_subduct_km_month" if model.existing_pricing == "rent"
                                      else "existing_duct.reuse_per_duct_m"): c}))
        if not new.any():
            continue
        n = counts[k, new]
        metres = float((problem.length_m[new] * n).sum())
        c = float(problem.duct_cost[k, new].sum())
        d = f"{int(diameters_mm[k])} mm " if diameters_mm is not None else ""
        per = f"{int(n.min())}" if n.min() == n.max() else f"{int(n.min())}-{int(n.max())}"
        row = dict(item=f"duct {d}({per} per trench)", category="duct", unit="duct-m",
                   quantity=metres, unit_cost_thb=c / metres if metres else 0.0, cost_thb=c, operator=op)
        rows.append(_with_terms(row, {model.duct_key(int(diameters_mm[k])): c} if diameters_mm is not None else {}))
    spares = getattr(costs, "spares", None)
    if spares is not None and float(spares[used].sum()) > 0:
        c = float(spares[used].sum())
        q = float((costs.spare_ducts[used] * problem.length_m[used]).sum())
        rows.append(_with_terms(dict(item="shared spare ducts of the corridor streets", category="duct",
                                     unit="duct-m", quantity=q, unit_cost_thb=c / q if q else 0.0, cost_thb=c,
                                     operator="all"), {model.duct_key(model.bank_spare_diameter_mm): c}))
    for i, (g, lay) in enumerate(plan_manholes(problem, plan).items()):
        if lay.count:
            price = problem.manhole_cost[i]
            ops = ",".join(sorted(problem.operators[k] for k in range(problem.n_operators)
                                  if problem.kinds[k] == g and plan.use[k].any()))
            rows.append(_with_terms(dict(item=f"manhole ({g})", category="manhole", unit="each",
                                         quantity=float(lay.count), unit_cost_thb=price, cost_thb=price * lay.count,
                                         operator=ops), {f"manhole.{g}": price * lay.count}))
    chambers = getattr(costs, "chambers", None)
    if chambers is not None:
        for gi, g in enumerate(GROUPS):
            mask = (modes[used] == gi) | (modes[used] == 2)
            c = float(chambers[used[mask], gi].sum())
            if c > 0:
                rows.append(_with_terms(dict(item=f"larger {g} chambers for wide duct banks", category="manhole",
                                             unit="m", quantity=float(problem.length_m[used[mask]].sum()),
                                             unit_cost_thb=c / float(problem.length_m[used[mask]].sum()),
                                             cost_thb=c, operator="all"), {f"manhole.{g}": c}))
    subtotal = sum(r["cost_thb"] for r in rows)
    pct = (problem.contingency_factor - 1.0) * 100.0
    rows.append(_with_terms(dict(item=f"contingency ({pct:g}%)", category="contingency", unit="THB",
                                 quantity=subtotal, unit_cost_thb=pct / 100.0, cost_thb=subtotal * pct / 100.0,
                                 operator="all"), {"contingency.percent": subtotal * pct / 100.0}))
    total = subtotal * problem.contingency_factor
    if abs(total - plan.cost * problem.contingency_factor) > 0.01:
        logger.warning("bill of quantities %.2f THB differs from plan cost %.2f THB", total,
                       plan.cost * problem.contingency_factor)
    return rows


def _trench_terms(model: "CostModel", ttype: str, highway: Any, cost: float, mobilisation: float = 0.0
                  ) -> dict[str, float]:
    """The cost-model keys behind the trench cost ``cost`` of one edge of type ``ttype``
    (``mobilisation``: THB of the edge's share of its structure's bore)."""
    if ttype == "micro_trench":
        return {"micro_trench.per_m": cost}
    if ttype == "hdd":  # a structure: its share of one bore along the structure
        mob = min(cost, mobilisation)
        return {"hdd.per_m": cost - mob, "hdd.mobilisation_per_bore": mob}
    return {model.open_cut_key(highway): cost}


def _with_terms(row: dict[str, Any], terms: dict[str, float]) -> dict[str, Any]:
    """``row`` with ``terms`` (cost key -> THB, zero terms dropped) and ``cost_key``."""
    terms = {k: float(v) for k, v in terms.items() if v}
    row["cost_key"] = "+".join(sorted(terms))
    row["terms"] = terms
    return row


# --------------------------------------------------------------------------- frames for outputs

def duct_frame(edges: Any, problem: DesignProblem, layout: PlanLayout, costs: "EdgeCosts", *, crs: Any) -> Any:
    """Duct segments of a plan, one row per segment of ``layout`` (GeoDataFrame in ``crs``).

    Columns: ``segment_id``, ``edge_id``, ``length_m``, ``operators`` (sorted, comma-separated),
    ``n_ducts``, ``ducts`` (e.g. ``CAT:2,TOT:2``), ``ducts_<OP>`` for every operator,
    ``trench_type``, ``cost_thb`` (trench and ducts of the
    segment incl. contingency; manholes are priced separately), ``kind``, ``highway``,
    ``name`` and the edge geometry.
    """
    import geopandas as gpd
    import pandas as pd

    seg = layout.segments
    names = list(layout.operators)
    rows = []
    existing = problem.existing if problem.existing is not None else np.zeros((len(names), problem.n_edges), dtype=bool)
    spare_ducts = (costs.spare_ducts if getattr(costs, "spare_ducts", None) is not None
                   else np.zeros(problem.n_edges, dtype=np.int64))
    attrs = {col: edges[col].to_numpy() for col in ("kind", "highway", "name") if col in edges.columns}
    for i, e in enumerate(seg.edge.tolist()):
        on = seg.use[:, i]
        ops = sorted(names[k] for k in np.flatnonzero(on))
        counts = {names[k]: int(seg.ducts[k, i]) for k in range(len(names))}
        row = {"segment_id": i + 1, "edge_id": int(edges.index[e]), "length_m": float(seg.length_m[i]),
               "operators": ",".join(ops), "n_ducts": sum(counts.values()) + int(spare_ducts[e]),
               "ducts": ",".join(f"{o}:{counts[o]}" for o in ops),
               "trench_type": str(seg.trench_type[i]),
               "cost_thb": float(seg.cost_thb[i]),
               "in_existing": ",".join(names[k] for k in range(len(names)) if on[k] and existing[k, e])}
        for o in names:
            row[f"ducts_{o}"] = counts[o]
        for col in ("kind", "highway", "name"):
            row[col] = attrs[col][e] if col in attrs else None
        rows.append(row)
    cols = (["segment_id", "edge_id", "length_m", "operators", "n_ducts", "ducts"] + [f"ducts_{o}" for o in names]
            + ["trench_type", "cost_thb", "in_existing", "kind", "highway", "name"])
    geom = np.asarray(edges.geometry.values)[seg.edge] if len(seg) else []
    return gpd.GeoDataFrame(pd.DataFrame(rows, columns=cols), geometry=list(geom), crs=crs)


def manhole_frame(edges: Any, nodes: Any, layout: PlanLayout, *, crs: Any) -> Any:
    """Manholes of a plan as points: ``manhole_id`` ('MH1', ...), ``reason``
    (junction|spacing|site), ``group`` (telecom|power), ``operators`` (of the group whose
    ducts pass), ``segment_id`` (the duct segment of :func:`duct_frame` holding a spacing
    manhole; null at nodes) and ``cost_thb`` (incl. contingency)."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    mh, seg = layout.manholes, layout.segments
    names = layout.operators
    node_geoms = np.asarray(nodes.geometry.values)
    edge_geoms = np.asarray(edges.geometry.values)
    recs, geoms = [], []
    for i in range(len(mh)):
        ops = ",".join(sorted(names[k] for k in np.flatnonzero(mh.use[i])))
        row = int(mh.segment[i])
        recs.append({"reason": mh.reason[i], "group": mh.group[i], "operators": ops, "cost_thb": float(mh.cost_thb[i]),
                     "segment_id": pd.NA if row < 0 else row + 1})
        if row < 0:
            geoms.append(node_geoms[int(mh.node[i])])
        else:  # the geometry may be a little longer or shorter than length_m: scale the offset
            L = float(seg.length_m[row]) or 1.0
            geoms.append(shapely.line_interpolate_point(edge_geoms[int(seg.edge[row])], float(mh.offset_m[i]) / L,
                                                        normalized=True))
    df = pd.DataFrame(recs, columns=["reason", "group", "operators", "segment_id", "cost_thb"])
    df["segment_id"] = df["segment_id"].astype("Int64")
    df.insert(0, "manhole_id", [f"MH{i}" for i in range(1, len(df) + 1)])
    return gpd.GeoDataFrame(df, geometry=geoms, crs=crs)


BOQ_COLUMNS = ("item", "category", "unit", "quantity", "unit_cost_thb", "cost_thb", "operator", "cost_key")


def boq_frame(rows: list[dict[str, Any]]) -> Any:
    """The bill of quantities as a DataFrame with :data:`BOQ_COLUMNS`."""
    import pandas as pd

    return pd.DataFrame(rows, columns=list(BOQ_COLUMNS))


def phase_rows(layout: PlanLayout, segment_phase: np.ndarray, manhole_phase: np.ndarray, *,
               names: Sequence[str] = (), services: Any = None, service_phase: np.ndarray | None = None,
               services_factor: float = 1.0) -> Any:
    """Per-phase rows of the bill of quantities of a phased plan (a DataFrame).

    Per phase: one row per trench type ("trench and ducts", metres, the segments' cost in
    THB with contingency), one per manhole group (count) and, in corridor mode, one per
    operator giving service connections (count, its part of their cost times
    ``services_factor``), with the BoQ columns ``item``, ``category`` (``phase``), ``unit``,
    ``quantity``, ``unit_cost_thb``, ``cost_thb``, ``operator`` (``all`` for trench and
    ducts; the manholes' operators) and ``phase``. Phase 0 (unbuilt) gets no rows.

    Parameters
    ----------
    segment_phase, manhole_phase
        Phase of each segment and manhole of ``layout`` (0 = unbuilt).
    names
        Phase names, phase 1 first (for the item labels).
    services, service_phase
        The corridor mode's service connections (:class:`connectivity.corridors.Services` frame)
        and the phase of each (0 = unbuilt).
    """
    import pandas as pd

    from connectivity.corridors import service_shares

    seg, mh = layout.segments, layout.manholes
    seg_phase = np.asarray(segment_phase, dtype=np.int64)
    mh_phase = np.asarray(manhole_phase, dtype=np.int64)
    svc_phase = np.zeros(0, dtype=np.int64) if services is None else np.asarray(service_phase, dtype=np.int64)
    label = {k: names[k - 1] for k in range(1, len(names) + 1)}
    rows = []
    for k in sorted(set(seg_phase[seg_phase > 0].tolist()) | set(mh_phase[mh_phase > 0].tolist())):
        tag = f"phase {k}" + (f" ({label[k]})" if k in label else "")
        in_k = seg_phase == k
        for t in sorted(set(seg.trench_type[in_k].tolist())):
            sel = in_k & (seg.trench_type == t)
            q, c = float(seg.length_m[sel].sum()), float(seg.cost_thb[sel].sum())
            rows.append(dict(item=f"{tag}: trench and ducts, {t}", category="phase", unit="m", quantity=q,
                             unit_cost_thb=c / q if q else 0.0, cost_thb=c, operator="all", phase=k))
        for grp in sorted(set(mh.group[mh_phase == k].tolist())):
            sel = (mh_phase == k) & (mh.group == grp)
            c, n = float(mh.cost_thb[sel].sum()), int(sel.sum())
            ops = sorted(layout.operators[j] for j in np.flatnonzero(mh.use[sel].any(axis=0)))
            rows.append(dict(item=f"{tag}: manhole ({grp})", category="phase", unit="each", quantity=float(n),
                             unit_cost_thb=c / n, cost_thb=c, operator=",".join(ops) or "all", phase=k))
        if (svc_phase == k).any():
            cost, given, ops = service_shares(services[svc_phase == k], services_factor)
            for j, op in enumerate(ops):
                n, c = int(given[:, j].sum()), float(cost[:, j].sum())
                if n:
                    rows.append(dict(item=f"{tag}: service connections", category="phase", unit="each",
                                     quantity=float(n), unit_cost_thb=c / n, cost_thb=c, operator=op, phase=k))
    out = pd.DataFrame(rows, columns=list(BOQ_COLUMNS[:-1]) + ["phase"])
    return out.astype({"phase": "Int64"})
