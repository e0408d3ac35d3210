"""Manholes (pull points) and the bill of quantities of a joint duct plan.

Manholes are placed per group (telecom, power: they never share a chamber) on the
network formed by the group's ducts: at every site connection (a terminal of an operator
of the group), at every junction (a node of degree >= 3), and along every continuous run
between those so that no two pull points are more than ``spacing_m`` apart
(MIL-HDBK-1012/3: about 140 m). The rule of at most two 90-degree bends between pull
points is not modelled (road geometry bends are not classified).
"""
from __future__ import annotations

import logging
import math
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from connectivity.costs import CostModel, EdgeCosts
    from connectivity.design import DesignProblem, JointPlan

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ManholeLayout:
    """Pull points of one group.

    Attributes
    ----------
    node_id, node_reason
        Manholes at nodes: node ids (int64) and reasons ('site' or 'junction').
    spacing_edge, spacing_offset_m
        Manholes inside runs: the edge holding each and its distance from the edge's ``u``
        end (metres).
    """

    node_id: np.ndarray
    node_reason: np.ndarray
    spacing_edge: np.ndarray
    spacing_offset_m: np.ndarray

    @property
    def count(self) -> int:
        return len(self.node_id) + len(self.spacing_edge)


def _runs(n_used_edges: np.ndarray, u: np.ndarray, v: np.ndarray, key: set[int],
          adj: dict[int, list[int]]) -> list[list[tuple[int, bool]]]:
    """Maximal paths between key nodes: lists of (edge id, forward u->v)."""
    seen: set[int] = set()
    runs: list[list[tuple[int, bool]]] = []

    def walk(start: int, e: int) -> list[tuple[int, bool]]:
        run = []
        node = start
        while True:
            seen.add(e)
            fwd = int(u[e]) == node
            run.append((e, fwd))
            node = int(v[e]) if fwd else int(u[e])
            if node in key:
                return run
            nxt = [f for f in adj[node] if f not in seen]
            if not nxt:
                return run
            e = nxt[0]

    for k in sorted(key):
        for e in adj.get(k, []):
            if e not in seen:
                runs.append(walk(k, e))
    for e in n_used_edges:  # cycles of degree-2 nodes without a key node
        e = int(e)
        if e not in seen:
            start = int(u[e])
            key.add(start)
            runs.append(walk(start, e))
    return runs


def place_manholes(u: Sequence[int], v: Sequence[int], length_m: Sequence[float], used: np.ndarray,
                   terminals: Sequence[int], *, spacing_m: float) -> ManholeLayout:
    """Place the pull points of one group on the edges ``used`` (bool mask over edges).

    Parameters
    ----------
    u, v, length_m
        Edge end nodes and lengths (metres).
    used
        Boolean mask of the edges carrying the group's ducts.
    terminals
        Site connections of the group (node ids); those on a used edge get a manhole.
    spacing_m
        Maximum distance between pull points along a run (metres).

    Returns
    -------
    ManholeLayout
        A run of length L between two node manholes gets ``ceil(L / spacing_m) - 1``
        evenly spaced manholes.
    """
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    length_m = np.asarray(length_m, dtype=float)
    edges = np.flatnonzero(np.asarray(used, dtype=bool))
    adj: dict[int, list[int]] = defaultdict(list)
    for e in edges:
        adj[int(u[e])].append(int(e))
        adj[int(v[e])].append(int(e))
    nodes = set(adj)
    sites = {int(t) for t in terminals} & nodes
    junctions = {n for n in nodes if len(adj[n]) >= 3} - sites
    key = sites | junctions | {n for n in nodes if len(adj[n]) == 1}
    node_ids = sorted(sites | junctions)
    reasons = np.array(["site" if n in sites else "junction" for n in node_ids], dtype=object)
    sp_edge: list[int] = []
    sp_off: list[float] = []
    for run in _runs(edges, u, v, set(key), adj):
        total = float(sum(length_m[e] for e, _ in run))
        k = max(0, math.ceil(total / spacing_m - 1e-9) - 1)
        if k == 0:
            continue
        step = total / (k + 1)
        targets = [step * (i + 1) for i in range(k)]
        pos = 0.0
        ti = 0
        for e, fwd in run:
            L = float(length_m[e])
            while ti < len(targets) and targets[ti] <= pos + L + 1e-9:
                along = min(max(targets[ti] - pos, 0.0), L)
                sp_edge.append(int(e))
                sp_off.append(along if fwd else L - along)
                ti += 1
            pos += L
    # nodes of degree 1 that are not sites (should not occur in pruned trees) get no manhole
    return ManholeLayout(node_id=np.array(node_ids, dtype=np.int64), node_reason=reasons,
                         spacing_edge=np.array(sp_edge, dtype=np.int64),
                         spacing_offset_m=np.array(sp_off, dtype=float))


# --------------------------------------------------------------------------- plan layouts

def plan_manholes(problem: "DesignProblem", plan: "JointPlan") -> dict[str, ManholeLayout]:
    """Manhole layout of each group of a plan ('telecom', 'power')."""
    from connectivity.design import GROUPS, group_presence, group_terminals

    has = dict(zip(GROUPS, group_presence(problem, plan.use)))
    out = {}
    for g in GROUPS:
        ks = [k for k in range(problem.n_operators) if problem.kinds[k] == g and plan.use[k].any()]
        out[g] = place_manholes(problem.u, problem.v, problem.length_m, has[g],
                                group_terminals(problem, g, ks), spacing_m=problem.manhole_spacing_m)
    return out


def bill_of_quantities(problem: "DesignProblem", plan: "JointPlan", costs: "EdgeCosts", model: "CostModel", *,
                       highway: Sequence[Any] | None = None,
                       diameters_mm: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """Bill of quantities of a plan: rows with ``item``, ``category``, ``unit``, ``quantity``,
    ``unit_cost_thb``, ``cost_thb`` and ``operator`` (the owner of ducts; the group's
    operators for manholes; 'all' for shared trench, crossings and contingency).

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
    for e in used:
        md = int(modes[e])
        col = md if md < 2 else 1
        key = ("trench", str(costs.trench_type[e, md]), str(hw[e] or "road"), label[md])
        groups[key][0] += float(problem.length_m[e])
        groups[key][1] += float(costs.main[e, col])
    for (cat, ttype, h, lab), (q, c) in sorted(groups.items()):
        if q <= 0 and c == 0:
            continue   # zero-length lead-ins (a site on the road)
        rows.append(dict(item=f"trench {ttype}, {h} ({lab})", category="trench", unit="m", quantity=q,
                         unit_cost_thb=c / q if q else 0.0, cost_thb=c, operator="all"))
    bores = float(costs.bores[used].sum() - sum(1.0 for e in used if costs.trench_type[e, 1] == "hdd"))
    crossing = float(costs.crossing[used].sum())
    if crossing > 0:
        rows.append(dict(item="HDD crossing under major road (half bore per side-road end)", category="crossing",
                         unit="bore", quantity=bores, unit_cost_thb=crossing / bores if bores else 0.0,
                         cost_thb=crossing, operator="all"))
    joint = used[modes[used] == 2]
    if len(joint):
        q = float(problem.length_m[joint].sum())
        c = float(costs.surcharge[joint].sum())
        rows.append(dict(item=f"joint trench extra width (>= {model.separation_mm:g} mm power/telecom separation)",
                         category="joint_surcharge", unit="m", quantity=q, unit_cost_thb=c / q if q else 0.0,
                         cost_thb=c, operator="all"))
    for k, op in enumerate(problem.operators):
        if not plan.use[k].any():
            continue
        metres = float(problem.length_m[plan.use[k]].sum()) * int(problem.ducts[k])
        c = float(problem.duct_cost[k, plan.use[k]].sum())
        d = f"{int(diameters_mm[k])} mm " if diameters_mm is not None else ""
        rows.append(dict(item=f"duct {d}({int(problem.ducts[k])} per trench)", category="duct", unit="duct-m",
                         quantity=metres, unit_cost_thb=c / metres if metres else 0.0, cost_thb=c, operator=op))
    for i, (g, lay) in enumerate(plan_manholes(problem, plan).items()):
        if lay.count:
            price = problem.manhole_cost[i]
            ops = ",".join(sorted(problem.operators[k] for k in range(problem.n_operators)
                                  if problem.kinds[k] == g and plan.use[k].any()))
            rows.append(dict(item=f"manhole ({g})", category="manhole", unit="each", quantity=float(lay.count),
                             unit_cost_thb=price, cost_thb=price * lay.count, operator=ops))
    subtotal = sum(r["cost_thb"] for r in rows)
    pct = (problem.contingency_factor - 1.0) * 100.0
    rows.append(dict(item=f"contingency ({pct:g}%)", category="contingency", unit="THB", quantity=subtotal,
                     unit_cost_thb=pct / 100.0, cost_thb=subtotal * pct / 100.0, operator="all"))
    total = subtotal * problem.contingency_factor
    if abs(total - plan.cost * problem.contingency_factor) > 0.01:
        logger.warning("bill of quantities %.2f THB differs from plan cost %.2f THB", total,
                       plan.cost * problem.contingency_factor)
    return rows


# --------------------------------------------------------------------------- frames for outputs

def duct_frame(edges: Any, problem: "DesignProblem", plan: "JointPlan", costs: "EdgeCosts", *, crs: Any) -> Any:
    """Duct segments of a plan, one row per edge with ducts (GeoDataFrame in ``crs``).

    Columns: ``segment_id``, ``edge_id``, ``length_m``, ``operators`` (sorted, comma-separated),
    ``n_ducts``, ``ducts`` (e.g. ``CAT:2,TOT:2``), ``ducts_<OP>`` for every operator,
    ``trench_type``, ``cost_thb`` (trench and ducts of the
    segment incl. contingency; manholes are priced separately), ``kind``, ``highway``,
    ``name`` and the edge geometry.
    """
    import geopandas as gpd

    modes = plan.modes(problem)
    used = np.flatnonzero(modes >= 0)
    names = list(problem.operators)
    f = problem.contingency_factor
    rows = []
    for i, e in enumerate(used):
        md = int(modes[e])
        ops = sorted(names[k] for k in range(problem.n_operators) if plan.use[k, e])
        counts = {names[k]: int(problem.ducts[k]) if plan.use[k, e] else 0 for k in range(problem.n_operators)}
        cost = (problem.trench[e, md] + sum(problem.duct_cost[k, e] for k in range(problem.n_operators)
                                            if plan.use[k, e])) * f
        row = {"segment_id": i + 1, "edge_id": int(edges.index[e]), "length_m": float(problem.length_m[e]),
               "operators": ",".join(ops), "n_ducts": sum(counts.values()),
               "ducts": ",".join(f"{o}:{counts[o]}" for o in ops),
               "trench_type": str(costs.trench_type[e, md]), "cost_thb": float(cost)}
        for o in names:
            row[f"ducts_{o}"] = counts[o]
        for col in ("kind", "highway", "name"):
            row[col] = edges[col].iloc[e] if col in edges.columns else None
        rows.append(row)
    cols = (["segment_id", "edge_id", "length_m", "operators", "n_ducts", "ducts"] + [f"ducts_{o}" for o in names]
            + ["trench_type", "cost_thb", "kind", "highway", "name"])
    geom = np.asarray(edges.geometry.values)[used] if len(used) else []
    import pandas as pd
    return gpd.GeoDataFrame(pd.DataFrame(rows, columns=cols), geometry=list(geom), crs=crs)


def manhole_frame(edges: Any, nodes: Any, problem: "DesignProblem", plan: "JointPlan", *, crs: Any) -> Any:
    """Manholes of a plan as points: ``manhole_id`` ('MH1', ...), ``reason``
    (junction|spacing|site), ``group`` (telecom|power), ``operators`` (of the group whose
    ducts pass), ``segment_id`` (the duct segment of :func:`duct_frame` holding a spacing
    manhole; null at nodes) and ``cost_thb`` (incl. contingency)."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    recs = []
    geoms = []
    node_geoms = np.asarray(nodes.geometry.values)
    edge_geoms = np.asarray(edges.geometry.values)
    f = problem.contingency_factor
    segment_of = {int(e): i + 1 for i, e in enumerate(np.flatnonzero(plan.use.any(axis=0)))}
    for gi, (g, lay) in enumerate(plan_manholes(problem, plan).items()):
        price = problem.manhole_cost[gi] * f
        ks = [k for k in range(problem.n_operators) if problem.kinds[k] == g]
        on_edge = {e: ",".join(sorted(problem.operators[k] for k in ks if plan.use[k, e]))
                   for e in np.flatnonzero(plan.use[ks].any(axis=0))} if ks else {}
        at_node: dict[int, set] = {}
        for e, ops in on_edge.items():
            for n in (int(problem.u[e]), int(problem.v[e])):
                at_node.setdefault(n, set()).update(ops.split(","))
        for n, reason in zip(lay.node_id.tolist(), lay.node_reason.tolist()):
            recs.append({"reason": reason, "group": g, "operators": ",".join(sorted(at_node.get(n, ()))),
                         "cost_thb": price, "segment_id": pd.NA})
            geoms.append(node_geoms[n])
        for e, off in zip(lay.spacing_edge.tolist(), lay.spacing_offset_m.tolist()):
            line = edge_geoms[e]
            # the geometry may be a little longer or shorter than length_m: scale the offset
            L = float(problem.length_m[e]) or 1.0
            recs.append({"reason": "spacing", "group": g, "operators": on_edge.get(e, ""), "cost_thb": price,
                         "segment_id": segment_of[int(e)]})
            geoms.append(shapely.line_interpolate_point(line, off / L, normalized=True))
    df = pd.DataFrame(recs, columns=["reason", "group", "operators", "segment_id", "cost_thb"])
    df["segment_id"] = df["segment_id"].astype("Int64")
    df.insert(0, "manhole_id", [f"MH{i}" for i in range(1, len(df) + 1)])
    return gpd.GeoDataFrame(df, geometry=geoms, crs=crs)


BOQ_COLUMNS = ("item", "category", "unit", "quantity", "unit_cost_thb", "cost_thb", "operator")


def boq_frame(rows: list[dict[str, Any]]) -> Any:
    """The bill of quantities as a DataFrame with :data:`BOQ_COLUMNS`."""
    import pandas as pd

    return pd.DataFrame(rows, columns=list(BOQ_COLUMNS))
