"""Phasing stage: split a full duct plan into budgeted phases that keep dig-once.

The full plan is a set of duct segments (usually a forest: one tree per road
component). Phasing gives every segment one phase number (or leaves it unbuilt):

* dig-once: a segment is built in exactly one phase, with every duct any operator
  needs on it, so a later phase never reopens a trench;
* connectivity: the segments of phases ``1..k`` form, in every component of the plan,
  subnetworks that each reach a root (an operator's hub; in a component without a hub
  the site cluster phasing starts from), so every phase hangs off the hubs or an
  earlier phase;
* budgets: the cost of phase ``k`` (THB) never exceeds its budget. Unspent budget is
  not carried over to the next phase.

The rule is greedy and deterministic. While something fits the phase's remaining
budget it adds the cheapest path from the built network to the unbuilt node whose path
has the best marginal value per baht (value: sites connected, buildings passed or
operator-weighted sites), or the whole branch with the best value per baht when that
is denser and fits; a site counts as connected once its node is joined to the built
network. Because ratio greedy alone can miss one valuable but expensive branch (the
knapsack trap), each phase is also grown after first making one of the few most
valuable or best-ratio moves, and the most valuable run is kept.

Sites count on the union of all operators' ducts: a site is connected when the plan's
segments join it to a root, whichever operators' ducts those segments carry.

The core works on plain arrays (:func:`make_forest`, :func:`phase_plan`);
:func:`phase_layout` is the one call the pipeline makes, on the design stage's plan
(:class:`connectivity.design.PlanLayout`) and the coverage stage's building pairs.

Scenario format (``Scenario.phases``, checked when the scenario is read by
:func:`connectivity.config.parse_phases`)::

    [[phases]]
    name = "Quick win"
    budget_thb = 11_000_000        # required but in the last phase (omitted: the rest)
    end = "2027-06-30"             # informative
    priority = "sites"             # sites | buildings | operators (per baht)
    # weights = { TOT = 2.0 }      # priority = "operators": weight per operator (default 1)
    # cost_per_m_thb = 3000        # first phase only: flat THB/m when the plan has no costs

    [[phases]]
    name = "Rest"
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
from numba import njit

from connectivity.config import PRIORITIES, PhaseSpec, fallback_cost_per_m, parse_phases  # noqa: F401  (re-exported)
from connectivity.design.layout import PlanLayout
from connectivity.errors import ConfigError, InputDataError

log = logging.getLogger(__name__)

_TOL = 1e-9


# --------------------------------------------------------------------------- options


# --------------------------------------------------------------------------- input


@dataclass(frozen=True)
class PlanForest:
    """The full plan as plain arrays (build with :func:`make_forest`).

    Attributes
    ----------
    edge_id, u, v
        Per segment: edge id and end node ids (int64).
    cost_thb
        Per segment: the whole trench plus ducts cost (THB, >= 0).
    operators
        Per segment: the operators with ducts in it (sorted tuples).
    buildings
        Per segment: buildings passed (count; each building counted on one segment only).
    site_id, site_node, site_operator, site_hub
        Per connected site: id, node id, operator and whether it is a hub (a root).
    allocation_thb
        ``(n_segments, n_operators)``: each segment's cost split over ``allocation_operators``
        (rows sum to ``cost_thb``).
    allocation_operators
        Column names of ``allocation_thb`` and ``node_allocation_thb``.
    node_id, node_cost_thb
        Costs paid at nodes (THB, e.g. manholes at junctions and sites): due in the phase
        that builds the first segment at the node.
    node_allocation_thb
        ``(len(node_id), n_operators)``: each node cost split over ``allocation_operators``.
    """

    edge_id: np.ndarray
    u: np.ndarray
    v: np.ndarray
    cost_thb: np.ndarray
    operators: tuple[tuple[str, ...], ...]
    buildings: np.ndarray
    site_id: tuple[str, ...]
    site_node: np.ndarray
    site_operator: tuple[str, ...]
    site_hub: np.ndarray
    allocation_thb: np.ndarray
    allocation_operators: tuple[str, ...]
    node_id: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    node_cost_thb: np.ndarray = field(default_factory=lambda: np.zeros(0))
    node_allocation_thb: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))

    @property
    def n_segments(self) -> int:
        return len(self.edge_id)

    @property
    def total_cost_thb(self) -> float:
        """Cost of the whole plan: segments and node costs (THB)."""
        return float(self.cost_thb.sum() + self.node_cost_thb.sum())


def duct_share_allocation(cost_thb: np.ndarray, operators: Sequence[Sequence[str]], *,
                          ducts: Mapping[str, Sequence[int]] | None = None) -> tuple[np.ndarray, tuple[str, ...]]:
    """Split each segment's cost over its operators by duct share (the plan's proportional rule).

    Parameters
    ----------
    cost_thb
        Cost per segment (THB).
    operators
        Operators per segment.
    ducts
        Ducts per operator per segment (``{"TOT": [...], ...}``); without it every
        operator on a segment counts one duct (an equal split). A segment without
        operators is charged to ``"unallocated"``.

    Returns
    -------
    (matrix, names)
        ``matrix[i, j]`` = THB of segment ``i`` charged to operator ``names[j]``.
    """
    cost = np.asarray(cost_thb, dtype=float)
    names = sorted({op for ops in operators for op in ops} | set(ducts or {}))
    if any(len(ops) == 0 for ops in operators):
        names.append("unallocated")
    col = {n: j for j, n in enumerate(names)}
    on = np.zeros((len(cost), len(names)), dtype=bool)
    share = np.zeros((len(cost), len(names)))
    for i, ops in enumerate(operators):
        for op in ops or ("unallocated",):
            on[i, col[op]] = True
            share[i, col[op]] = float(ducts[op][i]) if ducts and op in ducts else 1.0
    return _share_split(cost, share, on), tuple(names)


def make_forest(*, edge_id: Sequence[int], u: Sequence[int], v: Sequence[int], cost_thb: Sequence[float],
                operators: Sequence[Sequence[str]] | None = None, buildings: Sequence[int] | None = None,
                site_node: Sequence[int] = (), site_operator: Sequence[str] | None = None,
                site_hub: Sequence[bool] | None = None, site_id: Sequence[str] | None = None,
                ducts: Mapping[str, Sequence[int]] | None = None,
                allocation_thb: np.ndarray | None = None,
                allocation_operators: Sequence[str] | None = None,
                node_cost_thb: Mapping[int, float] | None = None,
                node_operators: Mapping[int, Sequence[str]] | None = None) -> PlanForest:
    """Check and pack the plan's arrays into a :class:`PlanForest`.

    Parameters
    ----------
    edge_id, u, v, cost_thb
        Per segment: edge id, end nodes, cost (THB, finite, >= 0).
    operators
        Per segment: operators with ducts in it (default: none).
    buildings
        Per segment: buildings passed (default 0).
    site_node, site_operator, site_hub, site_id
        Per connected site: node, operator, hub flag, id.
    ducts
        Ducts per operator per segment, for the default duct-share allocation.
    allocation_thb, allocation_operators
        A ready per-segment allocation (e.g. from ``allocate.py``) to use instead.
    node_cost_thb
        Cost due at a node (THB, e.g. its manholes) when the first segment there is built;
        nodes off the plan's segments are ignored.
    node_operators
        Operators sharing a node's cost equally (default: the operators of the segments
        at the node).

    Raises
    ------
    InputDataError
        Arrays of different lengths, negative or non-finite costs, a segment from a node
        to itself, or a repeated edge id.
    """
    edge_id = np.asarray(edge_id, dtype=np.int64)
    n = len(edge_id)
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    cost = np.asarray(cost_thb, dtype=float)
    for name, arr in (("u", u), ("v", v), ("cost_thb", cost)):
        if len(arr) != n:
            raise InputDataError(f"phasing: {name} has {len(arr)} values for {n} segments")
    if n and (not np.all(np.isfinite(cost)) or cost.min() < 0):
        bad = int(edge_id[np.flatnonzero(~np.isfinite(cost) | (cost < 0))[0]])
        raise InputDataError(f"phasing: edge {bad}: cost_thb must be finite and >= 0")
    if np.any(u == v):
        raise InputDataError(f"phasing: edge {int(edge_id[np.flatnonzero(u == v)[0]])} is a loop (u == v)")
    if len(np.unique(edge_id)) != n:
        raise InputDataError("phasing: repeated edge_id in the plan's segments")
    ops = tuple(tuple(sorted(o)) for o in operators) if operators is not None else ((),) * n
    if len(ops) != n:
        raise InputDataError(f"phasing: operators has {len(ops)} values for {n} segments")
    bld = np.zeros(n, dtype=np.int64) if buildings is None else np.asarray(buildings, dtype=np.int64)
    if len(bld) != n or (n and bld.min() < 0):
        raise InputDataError("phasing: buildings must be one count >= 0 per segment")
    s_node = np.asarray(site_node, dtype=np.int64)
    k = len(s_node)
    s_op = tuple(site_operator) if site_operator is not None else ("",) * k
    s_hub = np.zeros(k, dtype=bool) if site_hub is None else np.asarray(site_hub, dtype=bool)
    s_id = tuple(str(s) for s in site_id) if site_id is not None else tuple(f"site-{i}" for i in range(k))
    if not (len(s_op) == len(s_hub) == len(s_id) == k):
        raise InputDataError("phasing: site arrays differ in length")
    if allocation_thb is None:
        alloc, names = duct_share_allocation(cost, ops, ducts=ducts)
    else:
        alloc = np.asarray(allocation_thb, dtype=float)
        names = tuple(allocation_operators or ())
        if alloc.shape != (n, len(names)):
            raise InputDataError(f"phasing: allocation_thb must be {n} x {len(names)}, got {alloc.shape}")
    on_plan = set(u.tolist()) | set(v.tolist())
    node_cost = {int(k): float(c) for k, c in (node_cost_thb or {}).items()}
    for node, c in node_cost.items():
        if not (math.isfinite(c) and c >= 0):
            raise InputDataError(f"phasing: node {node}: node cost must be finite and >= 0, got {c!r}")
    off = sorted(set(node_cost) - on_plan)
    if off:
        log.warning("phasing: %d node cost(s) off the plan's segments ignored (e.g. node %d)", len(off), off[0])
    n_id = np.array(sorted(set(node_cost) & on_plan), dtype=np.int64)
    n_cost = np.array([node_cost[int(x)] for x in n_id], dtype=float)
    at_node: dict[int, set] = {}
    for a, b, o in zip(u.tolist(), v.tolist(), ops):
        at_node.setdefault(a, set()).update(o)
        at_node.setdefault(b, set()).update(o)
    payers = [tuple(sorted((node_operators or {}).get(int(x)) or at_node.get(int(x), ()))) for x in n_id]
    extra = sorted({op for p in payers for op in p} - set(names))
    if any(not p for p in payers) and "unallocated" not in names:
        extra.append("unallocated")
    names = list(names) + extra
    alloc = np.hstack([alloc, np.zeros((n, len(extra)))])
    col = {nm: j for j, nm in enumerate(names)}
    n_alloc = np.zeros((len(n_id), len(names)))
    for i, p in enumerate(payers):
        for op in p or ("unallocated",):
            n_alloc[i, col[op]] += n_cost[i] / max(len(p), 1)
    return PlanForest(edge_id=edge_id, u=u, v=v, cost_thb=cost, operators=ops, buildings=bld,
                      site_id=s_id, site_node=s_node, site_operator=s_op, site_hub=s_hub,
                      allocation_thb=alloc, allocation_operators=tuple(names),
                      node_id=n_id, node_cost_thb=n_cost, node_allocation_thb=n_alloc)


# --------------------------------------------------------------------------- output


@dataclass(frozen=True)
class PhaseFigures:
    """Figures of one phase (THB, counts); ``cumulative_*`` include every earlier phase."""

    number: int
    name: str
    budget_thb: float | None
    end: str | None
    priority: str
    cost_thb: float
    segments: int
    sites_connected: int
    buildings_passed: int
    cumulative_cost_thb: float
    cumulative_sites_connected: int
    cumulative_buildings_passed: int
    allocation_thb: dict[str, float]
    site_ids: tuple[str, ...]
    sites_per_operator: dict[str, int] = field(default_factory=dict)

    @property
    def sites_per_million_thb(self) -> float | None:
        """Sites connected per million THB (``None`` for a phase that costs nothing)."""
        return self.sites_connected / self.cost_thb * 1e6 if self.cost_thb > 0 else None


@dataclass(frozen=True)
class Unbuilt:
    """What the budgets leave out: segment count, their cost (THB), the sites not connected."""

    segments: int
    cost_thb: float
    buildings_passed: int
    site_ids: tuple[str, ...]


@dataclass(frozen=True)
class Phasing:
    """Result of :func:`phase_plan`.

    Attributes
    ----------
    phase
        Per segment (order of the :class:`PlanForest`): phase number 1..K, 0 = unbuilt.
    site_phase
        Per site: phase in which it gets connected, 0 = not connected.
    phases
        Figures per phase.
    unbuilt
        What no phase builds.
    roots
        Node ids the phases grow from (hubs, and the chosen start of hub-less components).
    """

    phase: np.ndarray
    site_phase: np.ndarray
    phases: tuple[PhaseFigures, ...]
    unbuilt: Unbuilt
    roots: tuple[int, ...] = field(default=())

    def phase_or_none(self) -> list[int | None]:
        """Per segment: phase number, or ``None`` when unbuilt."""
        return [int(p) if p > 0 else None for p in self.phase]

    def summary(self) -> dict[str, Any]:
        """JSON-ready ``{"phases": [...], "phases_unbuilt": {...}}`` for ``summary.json``."""
        rows = []
        for f in self.phases:
            rows.append({
                "phase": f.number, "name": f.name, "end": f.end, "priority": f.priority,
                "budget_thb": None if f.budget_thb is None else round(f.budget_thb, 2),
                "cost_thb": round(f.cost_thb, 2), "segments": f.segments,
                "sites_connected": f.sites_connected, "sites_per_operator": dict(f.sites_per_operator),
                "buildings_passed": f.buildings_passed,
                "sites_per_million_thb": None if f.sites_per_million_thb is None else round(f.sites_per_million_thb, 4),
                "cumulative": {"cost_thb": round(f.cumulative_cost_thb, 2),
                               "sites_connected": f.cumulative_sites_connected,
                               "buildings_passed": f.cumulative_buildings_passed},
                "allocation_thb": {k: round(v, 2) for k, v in f.allocation_thb.items()},
            })
        u = self.unbuilt
        return {"phases": rows,
                "phases_unbuilt": {"segments": u.segments, "cost_thb": round(u.cost_thb, 2),
                                   "buildings_passed": u.buildings_passed, "sites": list(u.site_ids)}}


# --------------------------------------------------------------------------- core


class _Graph:
    """Adjacency of the plan's segments over nodes relabelled 0..N-1."""

    def __init__(self, forest: PlanForest):
        nodes, inv = np.unique(np.concatenate([forest.u, forest.v, forest.site_node]), return_inverse=True)
        m = forest.n_segments
        self.nodes = nodes
        self.a = inv[:m]
        self.b = inv[m:2 * m]
        self.site_local = inv[2 * m:]
        self.n = len(nodes)
        self.adj: list[list[tuple[int, int]]] = [[] for _ in range(self.n)]
        for e in range(m):
            self.adj[self.a[e]].append((int(self.b[e]), e))
            self.adj[self.b[e]].append((int(self.a[e]), e))
        # the same adjacency as arrays (CSR, each node's segments in ascending order) for _dijkstra
        ends = np.concatenate([self.a, self.b]).astype(np.int64)
        seg_ids = np.concatenate([np.arange(m), np.arange(m)]).astype(np.int64)
        by_node = np.lexsort((seg_ids, ends))
        self.adj_seg = seg_ids[by_node]
        self.adj_node = np.concatenate([self.b, self.a]).astype(np.int64)[by_node]
        self.adj_ptr = np.concatenate([[0], np.cumsum(np.bincount(ends, minlength=self.n))]).astype(np.int64)
        self.cost = forest.cost_thb
        self.cost_list = forest.cost_thb.tolist()
        self.node_cost = np.zeros(self.n)
        if len(forest.node_id):
            pos = np.searchsorted(nodes, forest.node_id)
            self.node_cost[pos] = forest.node_cost_thb
        self.node_cost_list = self.node_cost.tolist()
        comp = np.full(self.n, -1, dtype=np.int64)
        for start in range(self.n):
            if comp[start] >= 0:
                continue
            comp[start] = start
            stack = [start]
            while stack:
                x = stack.pop()
                for y, _ in self.adj[x]:
                    if comp[y] < 0:
                        comp[y] = start
                        stack.append(y)
        self.comp = comp


@dataclass
class _State:
    built_node: np.ndarray      # bool per local node
    seg_phase: np.ndarray       # int per segment
    started: set                # components with something built (or a hub)
    paid: np.ndarray = None     # bool per local node: its node cost is paid (a segment there is built)

    def __post_init__(self):
        if self.paid is None:
            self.paid = np.zeros(len(self.built_node), dtype=bool)


def _values(forest: PlanForest, g: _Graph, spec: PhaseSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Value per node, value per segment and site count per node for a phase's priority."""
    sites = np.zeros(g.n)
    np.add.at(sites, g.site_local, 1.0)
    seg_val = np.zeros(forest.n_segments)
    if spec.priority == "sites":
        node_val = sites.copy()
    elif spec.priority == "buildings":
        node_val = np.zeros(g.n)
        seg_val = forest.buildings.astype(float)
    else:
        w = dict(spec.weights)
        node_val = np.zeros(g.n)
        np.add.at(node_val, g.site_local, np.array([w.get(op, 1.0) for op in forest.site_operator], dtype=float))
    return node_val, seg_val, sites


def _frontier(g: _Graph, state: _State, pending: dict[int, int], node_val, seg_val, sites):
    """Cheapest path from the built network to every unbuilt node (multi-source Dijkstra).

    Returns ``(order, dist, pred_seg, pred_node, value, nsites)`` for reached unbuilt nodes
    (``order``: in the order they are settled; ``dist`` in THB, node costs included).
    ``pending`` maps an unstarted hub-less component to its chosen root, whose own value
    counts with the first path built there.
    """
    sources = np.concatenate([np.flatnonzero(state.built_node),
                              np.array(list(pending.values()), dtype=np.int64)]).astype(np.int64)
    roots = np.array(list(pending.values()), dtype=np.int64)
    return _dijkstra(g.adj_ptr, g.adj_node, g.adj_seg, sources, roots, state.built_node, state.seg_phase, g.cost,
                     g.node_cost, state.paid, np.asarray(node_val, dtype=float), np.asarray(seg_val, dtype=float),
                     np.asarray(sites, dtype=float))


@njit(cache=True)
def _heap_less(key_a, node_a, key_b, node_b):
    return key_a < key_b or (key_a == key_b and node_a < node_b)


@njit(cache=True)
def _dijkstra(ptr, nbr, seg, sources, roots, built, seg_phase, cost, ncost, paid, nv, sv, st):
    """:func:`_frontier` on arrays (CSR adjacency ``ptr``/``nbr``/``seg``). Nodes settle in
    ``(distance, node)`` order; a tie in distance goes to the lower predecessor node."""
    n = len(ptr) - 1
    dist = np.full(n, np.inf)
    pred_seg = np.full(n, -1, dtype=np.int64)
    pred_node = np.full(n, -1, dtype=np.int64)
    val = np.zeros(n)
    cnt = np.zeros(n)
    done = np.zeros(n, dtype=np.bool_)
    order = np.empty(n, dtype=np.int64)
    n_order = 0
    cap = len(sources) + len(nbr) + 1
    hk = np.empty(cap)
    hn = np.empty(cap, dtype=np.int64)
    size = 0
    for x in sources:
        dist[x] = 0.0 if paid[x] else ncost[x]  # a hub's own manhole is due with its first segment
    for x in sources:
        if built[x]:   # a built node without an unbuilt segment to an unbuilt node relaxes nothing
            useful = False
            for j in range(ptr[x], ptr[x + 1]):
                if seg_phase[seg[j]] == 0 and not built[nbr[j]]:
                    useful = True
                    break
            if not useful:
                continue
        # push (dist[x], x)
        i = size
        size += 1
        while i > 0:
            parent = (i - 1) // 2
            if _heap_less(dist[x], x, hk[parent], hn[parent]):
                hk[i], hn[i] = hk[parent], hn[parent]
                i = parent
            else:
                break
        hk[i], hn[i] = dist[x], x
    for r in roots:
        val[r] = nv[r]
        cnt[r] = st[r]
    while size > 0:
        d, x = hk[0], hn[0]
        size -= 1
        if size > 0:  # sift the last entry down from the top
            lk, ln = hk[size], hn[size]
            i = 0
            while True:
                c = 2 * i + 1
                if c >= size:
                    break
                if c + 1 < size and _heap_less(hk[c + 1], hn[c + 1], hk[c], hn[c]):
                    c += 1
                if _heap_less(hk[c], hn[c], lk, ln):
                    hk[i], hn[i] = hk[c], hn[c]
                    i = c
                else:
                    break
            hk[i], hn[i] = lk, ln
        if done[x]:
            continue
        done[x] = True
        e = pred_seg[x]
        if e >= 0:
            p = pred_node[x]
            val[x] = val[p] + nv[x] + sv[e]
            cnt[x] = cnt[p] + st[x]
            order[n_order] = x
            n_order += 1
        for j in range(ptr[x], ptr[x + 1]):
            y, e = nbr[j], seg[j]
            if seg_phase[e] != 0 or done[y] or built[y]:
                continue
            nd = d + cost[e] + ncost[y]
            if nd < dist[y] or (nd == dist[y] and x < pred_node[y]):
                dist[y] = nd
                pred_seg[y] = e
                pred_node[y] = x
                i = size
                size += 1
                while i > 0:
                    parent = (i - 1) // 2
                    if _heap_less(nd, y, hk[parent], hn[parent]):
                        hk[i], hn[i] = hk[parent], hn[parent]
                        i = parent
                    else:
                        break
                hk[i], hn[i] = nd, y
    return order[:n_order].copy(), dist, pred_seg, pred_node, val, cnt


def _closing_segments(g: _Graph, state: _State) -> np.ndarray:
    """Unbuilt segments whose two ends are already built (cycle-closing segments)."""
    return np.flatnonzero((state.seg_phase == 0) & state.built_node[g.a] & state.built_node[g.b])


def _build_segment(g: _Graph, state: _State, e: int, phase: int) -> float:
    """Mark segment ``e`` built in ``phase``; returns its cost with the node costs it makes due (THB)."""
    state.seg_phase[e] = phase
    cost = float(g.cost[e])
    for x in (g.a[e], g.b[e]):
        if not state.paid[x]:
            state.paid[x] = True
            cost += g.node_cost[x]
    return cost


def _build_path(g: _Graph, state: _State, pending: dict[int, int], target: int, pred_seg, pred_node,
                phase: int) -> float:
    """Mark the path to ``target`` built in ``phase``; returns its cost (THB)."""
    cost = 0.0
    x = target
    while pred_seg[x] >= 0 and not state.built_node[x]:
        e = pred_seg[x]
        cost += _build_segment(g, state, e, phase)
        state.built_node[x] = True
        x = pred_node[x]
    state.built_node[x] = True  # the root of a component that starts here
    c = int(g.comp[target])
    if c in pending:
        del pending[c]
    state.started.add(c)
    return cost


@dataclass(frozen=True)
class _Moves:
    """Moves that fit the budget left, as arrays (one entry per move).

    ``kind`` 0: the cheapest path from the built network to node ``what``; 1: segment
    ``what`` whose two ends are built. A move's ratio key is ``(ratio, site_ratio, neg_cost,
    neg_id)`` (value and sites per baht), its value key ``(value, sites, neg_cost, neg_id)``;
    ``neg_id`` (-node, or -n - segment) makes every key unique.
    """

    kind: np.ndarray
    what: np.ndarray
    ratio: np.ndarray
    site_ratio: np.ndarray
    value: np.ndarray
    sites: np.ndarray
    neg_cost: np.ndarray
    neg_id: np.ndarray

    def __len__(self) -> int:
        return len(self.kind)

    def _keys(self, by: str) -> tuple[np.ndarray, ...]:
        first = (self.ratio, self.site_ratio) if by == "ratio" else (self.value, self.sites)
        return (*first, self.neg_cost, self.neg_id)

    def best(self, by: str = "ratio") -> int:
        """Index of the move with the largest key (lexicographic)."""
        idx = np.arange(len(self))
        for k in self._keys(by):
            idx = idx[k[idx] == k[idx].max()]
            if len(idx) == 1:
                break
        return int(idx[0])

    def ranked(self, by: str) -> np.ndarray:
        """Indices of the moves, largest key first."""
        keys = self._keys(by)
        return np.lexsort(keys[::-1])[::-1]

    def key(self, i: int) -> tuple:
        """The ratio key of move ``i``."""
        return (float(self.ratio[i]), float(self.site_ratio[i]), float(self.neg_cost[i]), int(self.neg_id[i]))

    def move(self, i: int) -> tuple[str, int]:
        """Move ``i`` as ``("path", node)`` or ``("close", segment)``."""
        return ("path" if self.kind[i] == 0 else "close", int(self.what[i]))


def _ratios(value: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Value per baht of each move (a free move: infinite with value, else 0)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        out = value / cost
    free = cost <= 0
    out[free] = np.where(value[free] > 0, math.inf, 0.0)
    return out


def _candidates(g: _Graph, state: _State, pending: dict[int, int], left: float, vals) -> tuple[_Moves, tuple]:
    """Every move that fits ``left`` (THB) as :class:`_Moves`, plus the frontier arrays."""
    node_val, seg_val, sites = vals
    frontier = _frontier(g, state, pending, node_val, seg_val, sites)
    order, dist, _, _, val, cnt = frontier
    limit = left * (1 + _TOL) + 1e-6                      # what fits the budget left (THB)
    nodes = order[dist[order] <= limit]
    close = _closing_segments(g, state)
    due = np.where(state.paid[g.a[close]], 0.0, g.node_cost[g.a[close]]) + \
        np.where(state.paid[g.b[close]], 0.0, g.node_cost[g.b[close]])
    c_close = g.cost[close] + due
    close = close[c_close <= limit]
    c_close = c_close[c_close <= limit]
    c_path, v_path, s_path = dist[nodes], val[nodes], cnt[nodes]
    v_close = np.asarray(seg_val, dtype=float)[close]
    zeros = np.zeros(len(close))
    moves = _Moves(kind=np.concatenate([np.zeros(len(nodes), dtype=np.int64), np.ones(len(close), dtype=np.int64)]),
                   what=np.concatenate([nodes, close]).astype(np.int64),
                   ratio=np.concatenate([_ratios(v_path, c_path), _ratios(v_close, c_close)]),
                   site_ratio=np.concatenate([_ratios(s_path, c_path), zeros]),
                   value=np.concatenate([v_path, v_close]), sites=np.concatenate([s_path, zeros]),
                   neg_cost=-np.concatenate([c_path, c_close]),
                   neg_id=np.concatenate([-nodes, -g.n - close]).astype(np.int64))
    return moves, frontier


def _apply(g: _Graph, state: _State, pending: dict[int, int], move, frontier, phase: int) -> float:
    """Build ``move`` in ``phase``; returns its cost (THB)."""
    _, _, pred_seg, pred_node, _, _ = frontier
    kind, what = move
    if kind == "path":
        return _build_path(g, state, pending, what, pred_seg, pred_node, phase)
    if kind == "branch":
        # parents first: each node hangs off the built part or an earlier one
        return sum(_build_path(g, state, pending, x, pred_seg, pred_node, phase) for x in what)
    return _build_segment(g, state, what, phase)


def _greedy_phase(g: _Graph, state: _State, pending: dict[int, int], budget: float, vals, phase: int,
                  *, first=None) -> float:
    """Grow the built network within ``budget`` (THB) by best value per baht; returns the amount spent.

    ``first`` is a move to make before the greedy (see :func:`_candidates`).
    """
    node_val, seg_val, sites = vals
    spent = 0.0
    if first is not None:
        frontier = _frontier(g, state, pending, node_val, seg_val, sites)
        spent += _apply(g, state, pending, first, frontier, phase)
    while True:
        left = budget - spent
        cands, frontier = _candidates(g, state, pending, left, vals)
        best = cands.best() if len(cands) else None
        best_key, move = (cands.key(best), cands.move(best)) if best is not None else (None, None)
        order, _, pred_seg, pred_node, _, _ = frontier
        if len(order):
            dense = _densest_branch(g, order, pred_seg, pred_node, node_val, seg_val, sites, pending, left,
                                    best_key[0] if best_key else 0.0, frontier[1])
            if dense is not None and (best_key is None or dense[0] > best_key):
                move = ("branch", dense[1])
        if move is None:
            return spent
        spent += _apply(g, state, pending, move, frontier, phase)


def _densest_branch(g: _Graph, order, pred_seg, pred_node, node_val, seg_val, sites, pending: dict[int, int],
                    left: float, floor: float, dist):
    """The subtree hanging off the built network with the most value per baht, if it fits ``left``.

    Dinkelbach iteration on the cheapest-path forest: for a ratio ``lam`` every unbuilt
    node weighs ``value - lam * cost`` of itself and the segment to its parent; the best
    rooted subtree keeps the children of positive total. Starts from ``floor`` (the best
    path ratio) and returns ``(key, nodes parents-first)`` or ``None``.
    """
    if not math.isfinite(floor):
        return None  # a free path with value already beats any branch
    root_val = np.zeros(g.n)
    is_root = np.zeros(g.n, dtype=bool)
    for r in pending.values():
        root_val[r] = node_val[r]
        is_root[r] = True
    found, ratio, site_ratio, cost, top, nodes = _dinkelbach(
        order, pred_seg, pred_node, np.asarray(node_val, dtype=float), np.asarray(seg_val, dtype=float),
        np.asarray(sites, dtype=float), g.cost, g.node_cost, root_val, is_root, dist, float(left), float(floor), _TOL)
    if not found:
        return None
    return (float(ratio), float(site_ratio), -float(cost), -int(top)), [int(x) for x in nodes]


@njit(cache=True)
def _dinkelbach(order, pred_seg, pred_node, nv, sv, st, cost, ncost, root_val, is_root, dist, left, floor, tol):
    """:func:`_densest_branch` on arrays: ``(found, ratio, sites per baht, cost, top node, nodes)``."""
    n = len(dist)
    m = len(order)
    pos = np.full(n, -1, dtype=np.int64)
    for i in range(m):
        pos[order[i]] = i
    # children of each node in settling order (CSR over the nodes)
    n_kids = np.zeros(n + 1, dtype=np.int64)
    for i in range(m):
        n_kids[pred_node[order[i]] + 1] += 1
    ptr = np.cumsum(n_kids)
    fill = ptr[:-1].copy()
    kids = np.empty(m, dtype=np.int64)
    for i in range(m):
        p = pred_node[order[i]]
        kids[fill[p]] = order[i]
        fill[p] += 1
    own_v = np.empty(m)
    own_c = np.empty(m)
    for i in range(m):
        x = order[i]
        own_v[i] = nv[x] + sv[pred_seg[x]]
        own_c[i] = cost[pred_seg[x]] + ncost[x]
    bw = np.zeros(n)
    bv = np.zeros(n)
    bc = np.zeros(n)
    bs = np.zeros(n)
    lam = floor
    found = False
    f_ratio, f_sites, f_cost, f_top = 0.0, 0.0, 0.0, -1
    f_nodes = np.empty(0, dtype=np.int64)
    for _ in range(20):
        for i in range(m - 1, -1, -1):
            x = order[i]
            v, c, k = own_v[i], own_c[i], st[x]
            w = v - lam * c
            for j in range(ptr[x], ptr[x + 1]):
                y = kids[j]
                if bw[y] > 1e-12:
                    w, v, c, k = w + bw[y], v + bv[y], c + bc[y], k + bs[y]
            bw[x], bv[x], bc[x], bs[x] = w, v, c, k
        best = -1
        best_w, b_extra, b_due = 0.0, 0.0, 0.0
        for i in range(m):
            x = order[i]
            p = pred_node[x]
            if pos[p] >= 0:
                continue  # not a top: its parent is unbuilt too
            extra = root_val[p] if is_root[p] else 0.0
            due = dist[p]  # the source's own node cost, when still unpaid
            w, c = bw[x] + extra - lam * due, bc[x] + due
            if c <= 0 or w <= 1e-12:
                continue
            if best < 0 or w > best_w or (w == best_w and -x > -best):
                best, best_w, b_extra, b_due = x, w, extra, due
        if best < 0:
            break
        x = best
        ratio = (bv[x] + b_extra) / (bc[x] + b_due)
        if ratio <= lam * (1 + 1e-12):
            break
        lam = ratio
        total = bc[x] + b_due
        if total <= left * (1 + tol) + 1e-6:  # fits the budget left, as in _candidates
            keep = np.zeros(n, dtype=np.bool_)
            stack = [x]
            while len(stack):
                y = stack.pop()
                keep[y] = True
                for j in range(ptr[y], ptr[y + 1]):
                    if bw[kids[j]] > 1e-12:
                        stack.append(kids[j])
            chosen = np.empty(m, dtype=np.int64)
            n_chosen = 0
            for i in range(m):
                if keep[order[i]]:
                    chosen[n_chosen] = order[i]
                    n_chosen += 1
            found = True
            f_ratio, f_sites, f_cost, f_top = ratio, bs[x] / total, total, x
            f_nodes = chosen[:n_chosen].copy()
    return found, f_ratio, f_sites, f_cost, f_top, f_nodes


def _value_of(state_before: _State, state_after: _State, g: _Graph, vals) -> float:
    node_val, seg_val, _ = vals
    new_nodes = state_after.built_node & ~state_before.built_node
    new_segs = (state_after.seg_phase > 0) & (state_before.seg_phase == 0)
    return float(node_val[new_nodes].sum() + seg_val[new_segs].sum())


def _copy(state: _State) -> _State:
    return _State(state.built_node.copy(), state.seg_phase.copy(), set(state.started), state.paid.copy())


def _best_phase(g: _Graph, state: _State, pending: dict[int, int], budget: float, vals,
                phase: int, *, starts: int) -> tuple[_State, dict[int, int]]:
    """The most valuable of several greedy runs from the same state.

    Runs: the plain greedy, then greedy runs that first make one of the ``starts`` most
    valuable moves or one of the ``starts`` best value-per-baht moves (a guard against
    the knapsack trap of ratio greedy: one valuable, expensive branch).
    """
    cands, _ = _candidates(g, state, pending, budget, vals)
    firsts: list = [None]
    for by in ("value", "ratio"):
        for i in cands.ranked(by)[:starts].tolist():
            if cands.move(i) not in firsts:
                firsts.append(cands.move(i))
    best = None
    for i, first in enumerate(firsts):
        s, p = _copy(state), dict(pending)
        spent = _greedy_phase(g, s, p, budget, vals, phase, first=first)
        key = (_value_of(state, s, g, vals), -spent, -i)
        if best is None or key > best[0]:
            best = (key, s, p)
    return best[1], best[2]


def _choose_roots(g: _Graph, forest: PlanForest, hub_nodes: set[int], spec: PhaseSpec,
                  *, candidates: int = 8, starts: int = 5,
                  budgets: Mapping[int, float] | None = None) -> dict[int, int]:
    """A root for every component without a hub: the site node from which phase 1 does best.

    Site nodes are ranked by the value reachable within the phase-1 budget (or the
    component's share of it, ``budgets``) along the plan; the best ``candidates`` are
    tried with the phase-1 greedy on the component alone.
    """
    vals = _values(forest, g, spec)
    node_val = vals[0]
    hub_comps = {int(g.comp[x]) for x in hub_nodes}
    site_nodes = sorted(set(int(x) for x in g.site_local))
    by_comp: dict[int, list[int]] = {}
    for x in site_nodes:
        c = int(g.comp[x])
        if c not in hub_comps:
            by_comp.setdefault(c, []).append(x)
    budget = math.inf if spec.budget_thb is None else spec.budget_thb
    roots = {}
    for c in sorted(set(int(x) for x in g.comp[g.a]) - hub_comps - set(by_comp)):
        roots[c] = int(np.flatnonzero(g.comp == c)[0])  # no site at all: start at its first node
    empty = _State(np.zeros(g.n, dtype=bool), np.zeros(forest.n_segments, dtype=np.int64), set())
    full = budget
    for c, nodes in sorted(by_comp.items()):
        if len(nodes) == 1:
            roots[c] = nodes[0]
            continue
        budget = budgets.get(c, full) if budgets else full
        ranked = []
        for x in nodes:
            order, dist, pred_seg, *_ = _frontier(g, empty, {c: x}, *vals)
            near = order[dist[order] <= budget]
            ranked.append((float(node_val[near].sum() + vals[1][pred_seg[near]].sum() + node_val[x]), -x))
        ranked.sort(reverse=True)
        best = None
        for _, neg in ranked[:candidates]:
            x = -neg
            s, _ = _best_phase(g, empty, {c: x}, budget, vals, 1, starts=starts)
            key = (_value_of(empty, s, g, vals), -x)
            if best is None or key > best[0]:
                best = (key, x)
        roots[c] = best[1]
    return roots


def _hubless_roots(g: _Graph, forest: PlanForest, state: _State, hub_nodes: set[int], touched: np.ndarray,
                   spec: PhaseSpec, *, starts: int) -> dict[int, int]:
    """Roots of the hub-less components, chosen for phase 1.

    First each component is judged with the whole phase-1 budget; when phase 1 then
    shares its budget among several components, the roots are chosen again with each
    component's share (plus what is left) and kept if phase 1 delivers more.
    """
    pending = {c: r for c, r in _choose_roots(g, forest, hub_nodes, spec, starts=starts).items() if touched[r]}
    if not pending or spec.budget_thb is None:
        return pending
    vals = _values(forest, g, spec)

    def run(roots):
        s, _ = _best_phase(g, state, dict(roots), spec.budget_thb, vals, 1, starts=starts)
        return s, _value_of(state, s, g, vals)

    first, value = run(pending)
    seg_comp = g.comp[g.a]
    built = first.seg_phase == 1
    left = spec.budget_thb - float(g.cost[built].sum())
    shares = {c: float(g.cost[built & (seg_comp == c)].sum()) + left for c in pending}
    again = {c: r for c, r in _choose_roots(g, forest, hub_nodes, spec, starts=starts, budgets=shares).items()
             if c in pending}
    if again != pending and run(again)[1] > value:
        return again
    return pending


#: Extra greedy runs per phase (see :func:`phase_plan`) on plans up to :data:`FULL_SEARCH_SEGMENTS`.
STARTS = 5
#: Largest plan (segments) whose phases get the extra greedy runs by default; each run
#: costs about the square of the plan's size, so larger plans get the plain greedy only.
FULL_SEARCH_SEGMENTS = 5_000


def phase_plan(forest: PlanForest, phases: Sequence[PhaseSpec], *, starts: int | None = None) -> Phasing:
    """Split the plan into budgeted phases keeping dig-once and connectivity.

    Parameters
    ----------
    forest
        The full plan (see :func:`make_forest`).
    phases
        Phases in order; budgets in THB.
    starts
        Besides the plain greedy, each phase is also grown after first making one of the
        ``starts`` most valuable or best value-per-baht moves; the most valuable run wins.
        0 = plain greedy only (fastest). Default: :data:`STARTS` up to
        :data:`FULL_SEARCH_SEGMENTS` segments, 0 above.

    Returns
    -------
    Phasing
        Phase per segment and per site, figures per phase, what stays unbuilt. When the
        budgets cover the plan every segment is built and the phase figures add up to the
        plan's cost, sites and buildings.

    Raises
    ------
    ConfigError
        No phases, or a budget-less phase that is not the last.
    """
    if not phases:
        raise ConfigError("phases: at least one phase is needed")
    if starts is None:
        starts = STARTS if forest.n_segments <= FULL_SEARCH_SEGMENTS else 0
    if isinstance(starts, bool) or not isinstance(starts, int) or starts < 0:
        raise ConfigError(f"phase_plan: starts must be an integer >= 0, got {starts!r}")
    for i, p in enumerate(phases[:-1]):
        if p.budget_thb is None:
            raise ConfigError(f"phases[{i}].budget_thb: required (only the last phase may omit it)")
    g = _Graph(forest)
    hub_nodes = {int(x) for x, h in zip(g.site_local, forest.site_hub) if h}
    touched = np.zeros(g.n, dtype=bool)
    touched[g.a] = touched[g.b] = True
    built = np.zeros(g.n, dtype=bool)
    built[list(hub_nodes)] = True
    # sites on nodes no segment touches have nothing to wait for
    built[~touched] = True
    state = _State(built, np.zeros(forest.n_segments, dtype=np.int64), {int(g.comp[x]) for x in hub_nodes})
    pending = _hubless_roots(g, forest, state, hub_nodes, touched, phases[0], starts=starts)
    roots = sorted(int(g.nodes[x]) for x in hub_nodes | set(pending.values()))
    node_phase = np.where(built, 1, 0).astype(np.int64)
    for k, spec in enumerate(phases, start=1):
        budget = math.inf if spec.budget_thb is None else spec.budget_thb
        vals = _values(forest, g, spec)
        before = state.built_node.copy()
        state, pending = _best_phase(g, state, pending, budget, vals, k, starts=starts)
        node_phase[state.built_node & ~before] = k
        log.info("phase %d (%s): %.0f THB of %s", k, spec.name,
                 forest.cost_thb[state.seg_phase == k].sum(), "unlimited" if spec.budget_thb is None else f"{budget:.0f}")
    site_phase = node_phase[g.site_local] if len(g.site_local) else np.zeros(0, dtype=np.int64)
    return _figures(forest, phases, state.seg_phase, site_phase, roots)


def node_phases(forest: PlanForest, seg_phase: np.ndarray) -> np.ndarray:
    """Phase in which each node cost (``forest.node_id``) falls due: the first phase building a
    segment at the node (0 = never)."""
    first = {}
    for a, b, p in zip(forest.u.tolist(), forest.v.tolist(), np.asarray(seg_phase).tolist()):
        if p > 0:
            for x in (a, b):
                if x not in first or p < first[x]:
                    first[x] = p
    return np.array([first.get(int(x), 0) for x in forest.node_id], dtype=np.int64)


def _figures(forest: PlanForest, phases: Sequence[PhaseSpec], seg_phase: np.ndarray,
             site_phase: np.ndarray, roots: list[int]) -> Phasing:
    rows = []
    cum_cost, cum_sites, cum_bld = 0.0, 0, 0
    n_phase = node_phases(forest, seg_phase)
    for k, spec in enumerate(phases, start=1):
        in_k = seg_phase == k
        due = n_phase == k
        cost = float(forest.cost_thb[in_k].sum() + forest.node_cost_thb[due].sum())
        sites = int((site_phase == k).sum())
        bld = int(forest.buildings[in_k].sum())
        cum_cost, cum_sites, cum_bld = cum_cost + cost, cum_sites + sites, cum_bld + bld
        alloc = forest.allocation_thb[in_k].sum(axis=0) + forest.node_allocation_thb[due].sum(axis=0) \
            if forest.allocation_thb.shape[1] else np.zeros(0)
        rows.append(PhaseFigures(
            number=k, name=spec.name, budget_thb=spec.budget_thb, end=spec.end, priority=spec.priority,
            cost_thb=cost, segments=int(in_k.sum()), sites_connected=sites, buildings_passed=bld,
            cumulative_cost_thb=cum_cost, cumulative_sites_connected=cum_sites, cumulative_buildings_passed=cum_bld,
            allocation_thb={op: float(a) for op, a in zip(forest.allocation_operators, alloc)},
            site_ids=tuple(s for s, p in zip(forest.site_id, site_phase) if p == k),
            sites_per_operator={op: sum(1 for o, p in zip(forest.site_operator, site_phase) if p == k and o == op)
                                for op in sorted(set(forest.site_operator))}))
    out = seg_phase == 0
    unbuilt = Unbuilt(segments=int(out.sum()),
                      cost_thb=float(forest.cost_thb[out].sum() + forest.node_cost_thb[n_phase == 0].sum()),
                      buildings_passed=int(forest.buildings[out].sum()),
                      site_ids=tuple(s for s, p in zip(forest.site_id, site_phase) if p == 0))
    if unbuilt.segments:
        log.warning("budgets leave %d segments (%.0f THB) and %d sites unbuilt",
                    unbuilt.segments, unbuilt.cost_thb, len(unbuilt.site_ids))
    return Phasing(phase=seg_phase.copy(), site_phase=np.asarray(site_phase, dtype=np.int64), phases=tuple(rows),
                   unbuilt=unbuilt, roots=tuple(roots))


def phase_value(forest: PlanForest, phasing: Phasing, spec: PhaseSpec, *, phase: int = 1) -> float:
    """Value that ``phase`` delivers under ``spec``'s priority (sites, buildings or weighted sites)."""
    if spec.priority == "sites":
        per_site = np.ones(len(forest.site_id))
    elif spec.priority == "operators":
        w = dict(spec.weights)
        per_site = np.array([w.get(op, 1.0) for op in forest.site_operator], dtype=float)
    else:
        per_site = np.zeros(len(forest.site_id))
    seg_val = forest.buildings.astype(float) if spec.priority == "buildings" else np.zeros(forest.n_segments)
    return float(per_site[phasing.site_phase == phase].sum() + seg_val[phasing.phase == phase].sum())


def optimal_first_phase(forest: PlanForest, spec: PhaseSpec, *,
                        time_limit_s: float | None = None) -> tuple[float, np.ndarray]:
    """Exact best first phase under ``spec``'s budget, by a MILP (HiGHS via ``scipy.optimize.milp``).

    Maximise the value built (sites, buildings or weighted sites, as the priority says)
    subject to cost (segments and the node costs they make due) <= budget (THB) and every built part of a component forming one
    subtree that holds the component's hub (a hub-less component may start anywhere,
    but a lone node without a built segment counts for nothing). Meant for checking the
    greedy on small instances.

    Returns
    -------
    (value, built)
        Optimal value and a boolean mask of the segments built.

    Raises
    ------
    InputDataError
        A component of the plan holds a cycle or more than one hub.
    ConfigError
        ``spec`` has no budget.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import lil_matrix

    if spec.budget_thb is None:
        raise ConfigError("optimal_first_phase: the phase needs a budget_thb")
    g = _Graph(forest)
    m, n = forest.n_segments, g.n
    comps = sorted(set(int(c) for c in g.comp))
    seg_comp = g.comp[g.a]
    for c in comps:
        if (seg_comp == c).sum() != (g.comp == c).sum() - 1:
            raise InputDataError(f"optimal_first_phase: the plan component at node {int(g.nodes[c])} is not a tree")
    node_val, seg_val, _ = _values(forest, g, spec)
    hubs = np.zeros(n, dtype=bool)
    hubs[g.site_local[forest.site_hub]] = True
    for c in comps:
        if hubs[g.comp == c].sum() > 1:
            raise InputDataError(f"optimal_first_phase: the plan component at node {int(g.nodes[c])} has several hubs")
    touched = np.zeros(n, dtype=bool)
    touched[g.a] = touched[g.b] = True
    hub_list = np.flatnonzero(hubs & touched)
    h = len(hub_list)
    hub_edges = [(j, e) for j, x in enumerate(hub_list) for _, e in g.adj[x]]
    # variables: x (segments), y (nodes built), w (a hub's node cost is due)
    rows = 2 * m + n + len(comps) + len(hub_edges) + 1
    A = lil_matrix((rows, m + n + h))
    lo, hi = np.full(rows, -np.inf), np.zeros(rows)
    r = 0
    for e in range(m):
        for end in (g.a[e], g.b[e]):
            A[r, e], A[r, m + end] = 1, -1          # x_e <= y_end
            r += 1
    for x in range(n):
        if touched[x] and not hubs[x]:
            A[r, m + x] = 1                       # y_x <= sum of its segments
            for _, e in g.adj[x]:
                A[r, e] = -1
        r += 1
    for c in comps:
        A[r, m + np.flatnonzero(g.comp == c)] = 1   # nodes - segments <= 1: one subtree
        A[r, np.flatnonzero(seg_comp == c)] = -1
        hi[r] = 1
        r += 1
    for j, e in hub_edges:
        A[r, e], A[r, m + n + j] = 1, -1               # x_e <= w_hub
        r += 1
    A[r, :m] = forest.cost_thb
    A[r, m:m + n] = np.where(hubs, 0.0, g.node_cost)  # a node's cost is due once it is built
    A[r, m + n:] = g.node_cost[hub_list]
    hi[r] = spec.budget_thb
    lb = np.zeros(m + n + h)
    ub = np.ones(m + n + h)
    lb[m + np.flatnonzero(hubs | ~touched)] = 1       # hubs and untouched site nodes exist already
    objective = -np.concatenate([seg_val, node_val, np.zeros(h)])
    options = {"time_limit": time_limit_s} if time_limit_s else {}
    res = milp(objective, constraints=LinearConstraint(A.tocsr(), lo, hi), integrality=np.ones(m + n + h),
               bounds=Bounds(lb, ub), options=options)
    if res.x is None:
        raise InputDataError(f"optimal_first_phase: HiGHS found no solution ({res.message})")
    x = np.round(res.x).astype(bool)
    return float(-res.fun), x[:m]


# --------------------------------------------------------------------------- the design result


def count_buildings_by_phase(result: Phasing, building: np.ndarray, segment: np.ndarray) -> Phasing:
    """``result`` with buildings passed counted exactly: each building in the first phase that passes it.

    The planning values use one segment per building (the nearest); a building near
    segments of two phases is passed as soon as the earlier phase is built, which this
    count follows, so each phase's cumulative figure equals the coverage of phases 1..k.

    Parameters
    ----------
    building, segment
        Pairs from :func:`building_pairs` (segment rows in the order of ``result.phase``).
    """
    from dataclasses import replace

    building = np.asarray(building, dtype=np.int64)
    segment = np.asarray(segment, dtype=np.int64)
    n_b = int(building.max()) + 1 if len(building) else 0
    phase = result.phase[segment].astype(float)
    phase[phase == 0] = np.inf
    first = np.full(n_b, np.inf)
    np.minimum.at(first, building, phase)
    passed_by_plan = np.zeros(n_b, dtype=bool)
    passed_by_plan[building] = True
    rows, cum = [], 0
    for f in result.phases:
        k = int((first == f.number).sum())
        cum += k
        rows.append(replace(f, buildings_passed=k, cumulative_buildings_passed=cum))
    unbuilt = replace(result.unbuilt, buildings_passed=int((passed_by_plan & ~np.isfinite(first)).sum()))
    return replace(result, phases=tuple(rows), unbuilt=unbuilt)


def _share_split(cost_thb: np.ndarray, share: np.ndarray, on: np.ndarray) -> np.ndarray:
    """``cost_thb[i]`` split over the columns by ``share[i]`` (an equal split over ``on[i]`` where
    the shares sum to 0): ``(n, J)`` THB, rows summing to ``cost_thb``."""
    total = share.sum(axis=1)
    share = np.where((total <= 0)[:, None], on.astype(float), share)
    with np.errstate(invalid="ignore", divide="ignore"):
        part = share / share.sum(axis=1)[:, None]
    return np.where(on, cost_thb[:, None] * np.nan_to_num(part), 0.0)


def _services_on_segments(edge_id: np.ndarray, services, factor: float) -> tuple[np.ndarray, np.ndarray, tuple]:
    """``(cost, matrix, names)``: THB of the service connections made from each segment (its
    street) and the part ``matrix[i, j]`` operator ``names[j]`` pays (times ``factor``).

    Raises
    ------
    InputDataError
        A service made from a street with no duct segment.
    """
    from connectivity.corridors import service_shares

    row_of_edge = {int(e): i for i, e in enumerate(edge_id.tolist())}
    per_service, _, names = service_shares(services, factor)
    matrix = np.zeros((len(edge_id), len(names)))
    for k, (b, e) in enumerate(zip(services["building_id"].tolist(), services["edge_id"].tolist())):
        i = row_of_edge.get(int(e))
        if i is None:
            raise InputDataError(f"phasing: service of building {b}: edge {int(e)} has no duct segment")
        matrix[i] += per_service[k]
    return matrix.sum(axis=1), matrix, names


def forest_from_layout(layout: PlanLayout, sites, *, buildings: Sequence[int] | None = None,
                       services=None, services_factor: float = 1.0) -> PlanForest:
    """The :class:`PlanForest` of the design stage's plan (segment order = ``layout.segments``).

    A segment costs its trench and ducts plus the manholes inside it (THB, contingency
    included); a manhole at a node falls due with the first segment built there, shared
    equally by the operators whose ducts meet there. Each segment's cost is allocated by
    duct share.

    Parameters
    ----------
    layout
        The plan's segments and manholes (:func:`connectivity.design.plan_layout`); a segment's
        ``edge`` is its network ``edge_id`` (the network's edges are numbered 0..m-1).
    sites
        Sites with ``site_id``, ``operator``, ``kind`` (``hub`` = root), ``node_id``, ``connected``;
        only connected sites count.
    buildings
        Buildings passed per segment (each building on its nearest segment).
    services, services_factor
        The corridor mode's service connections: each is built with its street, its cost
        (times ``services_factor``, the contingency) added to the segment's and charged to
        the operators giving it.
    """
    seg, mh, names = layout.segments, layout.manholes, layout.operators
    cost = seg.cost_thb.copy()
    inside = mh.segment >= 0
    np.add.at(cost, mh.segment[inside], mh.cost_thb[inside])
    order = np.argsort(names, kind="stable")               # allocation columns: operators by name
    use = seg.use[order].T
    alloc = _share_split(cost, np.where(use, seg.ducts[order].T, 0).astype(float), use)
    alloc_names = [names[k] for k in order]
    edge_id = seg.edge
    if services is not None and len(services):
        extra, matrix, svc_names = _services_on_segments(edge_id, services, services_factor)
        alloc_names += [n for n in svc_names if n not in alloc_names]
        alloc = np.hstack([alloc, np.zeros((len(cost), len(alloc_names) - alloc.shape[1]))])
        for j, n in enumerate(svc_names):
            alloc[:, alloc_names.index(n)] += matrix[:, j]
        cost = cost + extra
    node_cost: dict[int, float] = {}
    node_use: dict[int, np.ndarray] = {}
    for nd, c, u in zip(mh.node[~inside].tolist(), mh.cost_thb[~inside].tolist(), mh.use[~inside]):
        node_cost[nd] = node_cost.get(nd, 0.0) + c
        node_use[nd] = node_use.get(nd, np.zeros(len(names), dtype=bool)) | u
    node_ops = {nd: tuple(sorted(names[k] for k in np.flatnonzero(u))) for nd, u in node_use.items()}
    on = sites[sites["connected"].astype(bool) & sites["node_id"].notna()] if len(sites) else sites
    return make_forest(
        edge_id=edge_id, u=seg.u, v=seg.v, cost_thb=cost,
        operators=[tuple(names[k] for k in np.flatnonzero(col)) for col in seg.use.T], buildings=buildings,
        site_node=on["node_id"].to_numpy(np.int64) if len(on) else [],
        site_operator=on["operator"].astype(str).tolist() if len(on) else [],
        site_hub=(on["kind"] == "hub").to_numpy(bool) if len(on) else [],
        site_id=on["site_id"].astype(str).tolist() if len(on) else [],
        allocation_thb=alloc, allocation_operators=alloc_names,
        node_cost_thb=node_cost, node_operators=node_ops)


def manhole_phases(layout: PlanLayout, segment_phase: np.ndarray) -> np.ndarray:
    """Phase of each manhole of ``layout`` (0 = unbuilt): its segment's inside a run, else the
    first phase building a segment at its node."""
    seg, mh = layout.segments, layout.manholes
    first: dict[int, int] = {}
    for a, b, p in zip(seg.u.tolist(), seg.v.tolist(), np.asarray(segment_phase).tolist()):
        if p > 0:
            for x in (a, b):
                first[x] = min(first.get(x, p), p)
    return np.array([first.get(nd, 0) if sg < 0 else int(segment_phase[sg])
                     for nd, sg in zip(mh.node.tolist(), mh.segment.tolist())], dtype=np.int64)


@dataclass(frozen=True)
class PhasedPlan:
    """What :func:`phase_layout` returns.

    Attributes
    ----------
    phasing
        The :class:`Phasing` (``phasing.summary()`` for ``summary.json``); ``phasing.phase``
        is the phase of each segment of the layout (0 = unbuilt).
    manhole_phase
        Phase of each manhole of the layout (0 = unbuilt).
    service_phase
        Phase of each service connection (its street's; 0 = unbuilt), or ``None`` without services.
    """

    phasing: Phasing
    manhole_phase: np.ndarray
    service_phase: np.ndarray | None = None


def phase_layout(layout: PlanLayout, sites, phases: Sequence[PhaseSpec], *,
                 nearest_segment: np.ndarray | None = None,
                 passed_pairs: tuple[np.ndarray, np.ndarray] | None = None,
                 services=None, services_factor: float = 1.0) -> PhasedPlan:
    """Phase the design stage's plan: the one call the pipeline makes.

    Parameters
    ----------
    layout, sites, services, services_factor
        As for :func:`forest_from_layout`.
    phases
        From :func:`parse_phases`.
    nearest_segment
        Per building: the segment row nearest to it within the pass distance, -1 none
        (:attr:`connectivity.coverage.Coverage.nearest_segment`): the planning value of
        ``priority = "buildings"``.
    passed_pairs
        ``(building, segment row)`` pairs within the pass distance
        (:attr:`connectivity.coverage.Coverage.passed_pairs`): each building counts in the
        first phase that passes it.
    """
    n = len(layout.segments)
    per_segment = None
    if nearest_segment is not None:
        near = np.asarray(nearest_segment, dtype=np.int64)
        per_segment = np.bincount(near[near >= 0], minlength=n)
    forest = forest_from_layout(layout, sites, buildings=per_segment, services=services,
                                services_factor=services_factor)
    result = phase_plan(forest, phases)
    if passed_pairs is not None:
        result = count_buildings_by_phase(result, *passed_pairs)
    service_phase = None
    if services is not None:
        phase_of = dict(zip(forest.edge_id.tolist(), result.phase.tolist()))
        service_phase = np.array([phase_of.get(int(e), 0) for e in services["edge_id"].tolist()], dtype=np.int64)
    return PhasedPlan(phasing=result, manhole_phase=manhole_phases(layout, result.phase), service_phase=service_phase)
