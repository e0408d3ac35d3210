"""Joint multi-operator duct network: a Steiner forest with a shared trench.

Every operator needs its own ducts connecting its sites (and hub); the trench along an
edge is dug, and paid, once for all operators using it. The cost of a plan is

* trench: per edge by occupancy mode (telecom only, power only, joint: power and
  telecom together pay the wider-trench surcharge), see :mod:`connectivity.costs`;
* ducts: per operator and edge (power and telecom never share a duct);
* manholes: per group at sites, junctions and every ``spacing_m`` along runs.

This is a fixed-charge network design problem. :func:`plan_joint` solves it
heuristically with the Steiner engine (:func:`connectivity.steiner.solve`) as building
block; :func:`solve_milp` solves small instances exactly (multi-commodity flow MILP with
HiGHS) to measure the heuristic's gap; :func:`lower_bound` certifies larger ones.

Two objectives: the **exact** cost counts manholes one by one (what the bill of
quantities prices); the **linear** cost spreads manholes evenly over the metres of the
group's network (``manhole / spacing_m`` per metre) and is what the Steiner weights, and
the MILP, optimise. Sites are never charged to the linear cost (they are the same for
every plan). All money in THB before contingency unless a name says otherwise.
"""
from __future__ import annotations

import heapq
import itertools
import logging
import time
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from connectivity import steiner
from connectivity.boq import place_manholes
from connectivity.errors import ConfigError, InfeasibleError, InputDataError

logger = logging.getLogger(__name__)

GROUPS = ("telecom", "power")
_EPS = 1e-9
_SPH_MAX_NODES = 50_000   # also try the shortest-path heuristic on graphs up to this size
_SPH_ROOTS = 4            # roots of the shortest-path heuristic
_INSERTION_MAX_NODES = 400  # Steiner-vertex insertion only on small graphs (it is quadratic)
_POLISH_MAX_NODES = 1000    # own key-path exchange (pure Python) only on small graphs; the engine has its own


@dataclass(frozen=True)
class DesignProblem:
    """A joint planning instance on plain arrays (picklable, no geopandas).

    Attributes
    ----------
    n_nodes
        Nodes are 0..n_nodes-1.
    u, v, length_m
        Edge end nodes (int64) and lengths (metres).
    trench
        ``(m, 3)`` THB of the trench along each edge for modes telecom, power, joint.
    operators, kinds
        Operator names and their kind ('telecom' or 'power').
    duct_cost
        ``(K, m)`` THB of each operator's ducts along each edge.
    ducts
        ``(K,)`` ducts per operator (count, for duct-metres).
    terminals
        Per operator, node ids that its ducts must connect (sites and hub).
    manhole_cost
        THB per chamber for the groups ('telecom', 'power').
    manhole_spacing_m
        Maximum distance between pull points (metres).
    required
        Per operator, edge ids its ducts must use (e.g. aerial lines to underground);
        empty tuple = none.
    contingency_factor
        1 + contingency share, applied to reported totals (not to the optimisation).
    """

    n_nodes: int
    u: np.ndarray
    v: np.ndarray
    length_m: np.ndarray
    trench: np.ndarray
    operators: tuple[str, ...]
    kinds: tuple[str, ...]
    duct_cost: np.ndarray
    ducts: np.ndarray
    terminals: tuple[np.ndarray, ...]
    manhole_cost: tuple[float, float] = (0.0, 0.0)
    manhole_spacing_m: float = 140.0
    required: tuple[np.ndarray, ...] = ()
    contingency_factor: float = 1.0

    @property
    def n_edges(self) -> int:
        return len(self.u)

    @property
    def n_operators(self) -> int:
        return len(self.operators)

    def index(self, name: str) -> int:
        try:
            return self.operators.index(name)
        except ValueError:
            raise ConfigError(f"unknown operator {name!r}; known: {', '.join(self.operators)}") from None

    def required_edges(self, k: int) -> np.ndarray:
        return self.required[k] if self.required else np.zeros(0, dtype=np.int64)

    def active(self, k: int) -> bool:
        """Whether operator ``k`` needs any duct (>= 2 terminals or a required edge)."""
        return len(np.unique(self.terminals[k])) >= 2 or len(self.required_edges(k)) > 0

    def mode_cost(self, has_t: np.ndarray, has_p: np.ndarray) -> np.ndarray:
        """Linear trench + manhole cost per edge (THB) for presence masks of the groups."""
        mh = self.length_m / self.manhole_spacing_m
        out = np.zeros(self.n_edges)
        t_only = has_t & ~has_p
        p_only = has_p & ~has_t
        both = has_t & has_p
        out[t_only] = self.trench[t_only, 0] + self.manhole_cost[0] * mh[t_only]
        out[p_only] = self.trench[p_only, 1] + self.manhole_cost[1] * mh[p_only]
        out[both] = self.trench[both, 2] + (self.manhole_cost[0] + self.manhole_cost[1]) * mh[both]
        return out


def make_problem(*, n_nodes: int, u: Sequence[int], v: Sequence[int], length_m: Sequence[float],
                 trench: np.ndarray, operators: Sequence[str], kinds: Sequence[str],
                 duct_cost: np.ndarray, ducts: Sequence[int], terminals: Sequence[Sequence[int]],
                 manhole_cost: tuple[float, float] = (0.0, 0.0), manhole_spacing_m: float = 140.0,
                 required: Sequence[Sequence[int]] | None = None,
                 contingency_factor: float = 1.0) -> DesignProblem:
    """Validate arrays and build a :class:`DesignProblem`.

    Raises
    ------
    InputDataError
        On inconsistent shapes, negative costs or node ids out of range.
    ConfigError
        On an operator kind other than 'telecom' or 'power'.
    """
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    m = len(u)
    K = len(operators)
    trench = np.asarray(trench, dtype=float)
    duct_cost = np.asarray(duct_cost, dtype=float)
    length_m = np.asarray(length_m, dtype=float)
    if len(v) != m or len(length_m) != m or trench.shape != (m, 3) or duct_cost.shape != (K, m):
        raise InputDataError(f"design problem: inconsistent shapes (m={m}, K={K}, trench {trench.shape}, "
                             f"duct_cost {duct_cost.shape})")
    if m and (min(u.min(), v.min()) < 0 or max(u.max(), v.max()) >= n_nodes):
        raise InputDataError(f"design problem: edge end outside 0..{n_nodes - 1}")
    for name, arr in (("trench", trench), ("duct_cost", duct_cost), ("length_m", length_m)):
        if arr.size and (not np.all(np.isfinite(arr)) or arr.min() < 0):
            raise InputDataError(f"design problem: `{name}` must be finite and non-negative")
    bad = [k for k in kinds if k not in GROUPS]
    if bad:
        raise ConfigError(f"operator kind(s) {bad} not in {GROUPS}")
    terms = []
    for name, t in zip(operators, terminals):
        t = np.unique(np.asarray(t, dtype=np.int64))
        if t.size and (t.min() < 0 or t.max() >= n_nodes):
            raise InputDataError(f"design problem: operator {name} has a terminal outside 0..{n_nodes - 1}")
        terms.append(t)
    if len(terms) != K:
        raise InputDataError(f"design problem: {len(terms)} terminal sets for {K} operators")
    req: tuple[np.ndarray, ...] = ()
    if required is not None:
        if len(required) != K:
            raise InputDataError(f"design problem: {len(required)} required-edge sets for {K} operators")
        req = tuple(np.unique(np.asarray(r, dtype=np.int64)) for r in required)
        for name, r in zip(operators, req):
            if r.size and (r.min() < 0 or r.max() >= m):
                raise InputDataError(f"design problem: operator {name} requires an edge outside 0..{m - 1}")
    return DesignProblem(n_nodes=int(n_nodes), u=u, v=v, length_m=length_m, trench=trench,
                         operators=tuple(operators), kinds=tuple(kinds), duct_cost=duct_cost,
                         ducts=np.asarray(ducts, dtype=np.int64), terminals=tuple(terms),
                         manhole_cost=(float(manhole_cost[0]), float(manhole_cost[1])),
                         manhole_spacing_m=float(manhole_spacing_m), required=req,
                         contingency_factor=float(contingency_factor))


# --------------------------------------------------------------------------- evaluation

@dataclass(frozen=True)
class JointPlan:
    """Which operator's ducts use which edge, and what that costs (THB, before contingency).

    Attributes
    ----------
    use
        ``(K, m)`` bool: operator k lays its ducts along edge e.
    cost
        Exact cost: trench + ducts + manholes counted one by one.
    linear_cost
        Trench + ducts + manholes spread per metre (the optimised objective).
    trench_cost, duct_cost, manhole_cost
        Parts of ``cost``.
    n_manholes
        ``(telecom, power)`` chambers.
    """

    use: np.ndarray
    cost: float
    linear_cost: float
    trench_cost: float
    duct_cost: float
    manhole_cost: float
    n_manholes: tuple[int, int]

    def edges_of(self, k: int) -> np.ndarray:
        return np.flatnonzero(self.use[k])

    def modes(self, problem: DesignProblem) -> np.ndarray:
        """Per edge: -1 unused, 0 telecom only, 1 power only, 2 joint."""
        has_t, has_p = group_presence(problem, self.use)
        out = np.full(problem.n_edges, -1, dtype=np.int64)
        out[has_t & ~has_p] = 0
        out[has_p & ~has_t] = 1
        out[has_t & has_p] = 2
        return out


def group_presence(problem: DesignProblem, use: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks over edges: some telecom / some power operator uses the edge."""
    kinds = np.array(problem.kinds)
    tel = kinds == "telecom"
    has_t = use[tel].any(axis=0) if tel.any() else np.zeros(problem.n_edges, dtype=bool)
    has_p = use[~tel].any(axis=0) if (~tel).any() else np.zeros(problem.n_edges, dtype=bool)
    return has_t, has_p


def group_terminals(problem: DesignProblem, group: str, operators: Iterable[int] | None = None) -> np.ndarray:
    """Site-connection nodes of a group: terminals of its active operators."""
    ks = range(problem.n_operators) if operators is None else operators
    parts = [problem.terminals[k] for k in ks if problem.kinds[k] == group and problem.active(k)]
    return np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)


def linear_cost(problem: DesignProblem, use: np.ndarray) -> float:
    """Trench + ducts + per-metre manholes (THB) of a use matrix."""
    has_t, has_p = group_presence(problem, use)
    return float(problem.mode_cost(has_t, has_p).sum() + problem.duct_cost[use].sum())


def evaluate(problem: DesignProblem, use: np.ndarray) -> JointPlan:
    """Price a use matrix: exact and linear cost (THB, before contingency)."""
    use = np.asarray(use, dtype=bool)
    has_t, has_p = group_presence(problem, use)
    trench = float(problem.trench[has_t & ~has_p, 0].sum() + problem.trench[has_p & ~has_t, 1].sum()
                   + problem.trench[has_t & has_p, 2].sum())
    duct = float(problem.duct_cost[use].sum())
    counts = []
    for g, present in zip(GROUPS, (has_t, has_p)):
        if not present.any():
            counts.append(0)
            continue
        ks = [k for k in range(problem.n_operators) if problem.kinds[k] == g and use[k].any()]
        lay = place_manholes(problem.u, problem.v, problem.length_m, present,
                             group_terminals(problem, g, ks), spacing_m=problem.manhole_spacing_m)
        counts.append(lay.count)
    manhole = counts[0] * problem.manhole_cost[0] + counts[1] * problem.manhole_cost[1]
    return JointPlan(use=use, cost=trench + duct + manhole, linear_cost=linear_cost(problem, use),
                     trench_cost=trench, duct_cost=duct, manhole_cost=manhole,
                     n_manholes=(counts[0], counts[1]))


# --------------------------------------------------------------------------- tree helpers

class _Graph:
    """Simple adjacency (with the cheapest edge per node pair) for the local search."""

    def __init__(self, n: int, u: np.ndarray, v: np.ndarray):
        self.n = n
        self.u = u
        self.v = v
        self.adj: list[list[int]] = [[] for _ in range(n)]
        for e, (a, b) in enumerate(zip(u.tolist(), v.tolist())):
            if a != b:
                self.adj[a].append(e)
                self.adj[b].append(e)

    def other(self, e: int, node: int) -> int:
        a = int(self.u[e])
        return int(self.v[e]) if a == node else a


def _clean_tree(g: _Graph, w: np.ndarray, edges: Iterable[int], terminals: set[int],
                forced: set[int]) -> list[int]:
    """Minimum spanning forest of the given edges (forced first), then prune non-terminal leaves."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    edges = sorted(set(int(e) for e in edges), key=lambda e: (e not in forced, w[e], e))
    keep = []
    for e in edges:
        a, b = find(int(g.u[e])), find(int(g.v[e]))
        if a != b:
            parent[a] = b
            keep.append(e)
    return _prune(g, keep, terminals | {int(g.u[e]) for e in forced} | {int(g.v[e]) for e in forced})


def _prune(g: _Graph, edges: Iterable[int], terminals: set[int]) -> list[int]:
    """Remove non-terminal leaves repeatedly."""
    edges = set(int(e) for e in edges)
    inc: dict[int, set[int]] = {}
    for e in edges:
        inc.setdefault(int(g.u[e]), set()).add(e)
        inc.setdefault(int(g.v[e]), set()).add(e)
    stack = [n for n, es in inc.items() if len(es) == 1 and n not in terminals]
    while stack:
        n = stack.pop()
        if len(inc.get(n, ())) != 1 or n in terminals:
            continue
        e = inc[n].pop()
        edges.discard(e)
        o = g.other(e, n)
        inc[o].discard(e)
        if len(inc[o]) == 1 and o not in terminals:
            stack.append(o)
    return sorted(edges)


def _dijkstra_to_set(g: _Graph, w: np.ndarray, sources: set[int], targets: set[int],
                     bound: float) -> tuple[float, list[int]] | None:
    """Cheapest path from any source to any target node (edges), if cheaper than ``bound``."""
    dist = {s: 0.0 for s in sources}
    pred: dict[int, int] = {}
    heap = [(0.0, s) for s in sources]
    heapq.heapify(heap)
    done: set[int] = set()
    while heap:
        d, x = heapq.heappop(heap)
        if x in done:
            continue
        if d >= bound - _EPS:
            return None
        done.add(x)
        if x in targets:
            path = []
            while x not in sources:
                e = pred[x]
                path.append(e)
                x = g.other(e, x)
            return d, path
        for e in g.adj[x]:
            y = g.other(e, x)
            nd = d + w[e]
            if y not in done and nd < dist.get(y, float("inf")):
                dist[y] = nd
                pred[y] = e
                heapq.heappush(heap, (nd, y))
    return None


def _key_paths(g: _Graph, tree: list[int], terminals: set[int]) -> list[tuple[int, int, list[int]]]:
    """Key paths of a tree: (start key node, end key node, edges); key = terminal or degree != 2."""
    inc: dict[int, list[int]] = {}
    for e in tree:
        inc.setdefault(int(g.u[e]), []).append(e)
        inc.setdefault(int(g.v[e]), []).append(e)
    key = {n for n, es in inc.items() if len(es) != 2 or n in terminals}
    seen: set[int] = set()
    paths = []
    for k in sorted(key):
        for e in inc[k]:
            if e in seen:
                continue
            path, node = [], k
            while True:
                seen.add(e)
                path.append(e)
                node = g.other(e, node)
                if node in key:
                    break
                e = inc[node][0] if inc[node][0] != e else inc[node][1]
            paths.append((k, node, path))
    return paths


def _component(g: _Graph, edges: list[int], start: int) -> set[int]:
    inc: dict[int, list[int]] = {}
    for e in edges:
        inc.setdefault(int(g.u[e]), []).append(e)
        inc.setdefault(int(g.v[e]), []).append(e)
    seen = {start}
    stack = [start]
    while stack:
        x = stack.pop()
        for e in inc.get(x, ()):
            y = g.other(e, x)
            if y not in seen:
                seen.add(y)
                stack.append(y)
    return seen


def _key_path_exchange(g: _Graph, w: np.ndarray, tree: list[int], terminals: set[int],
                       forced: set[int], *, max_passes: int = 50) -> list[int]:
    """Key-path exchange (Uchoa & Werneck 2010): replace a key path by a cheaper reconnection.

    Removing a key path splits the tree in two; the cheapest path between the parts
    (Dijkstra, stopped at the removed path's cost) replaces it when cheaper.
    """
    tree = sorted(tree)
    for _ in range(max_passes):
        improved = False
        paths = _key_paths(g, tree, terminals)
        for a, b, path in sorted(paths, key=lambda p: (-float(w[p[2]].sum()), p[2][0])):
            if forced.intersection(path):
                continue
            cost = float(w[path].sum())
            if cost <= _EPS:
                continue
            pset = set(path)
            rest = [e for e in tree if e not in pset]
            comp_a = _component(g, rest, a)
            comp_b = _component(g, rest, b)
            found = _dijkstra_to_set(g, w, comp_a, comp_b, cost)
            if found is not None and found[0] < cost - 1e-7 * max(1.0, cost):
                tree = _clean_tree(g, w, rest + found[1], terminals, forced)
                improved = True
                break
        if not improved:
            break
    return tree


def _sph(problem: DesignProblem, w: np.ndarray, terms: list[int], *, roots: int) -> list[int]:
    """Shortest-path heuristic (Takahashi-Matsuyama) from up to ``roots`` terminals; best tree."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    n = problem.n_nodes
    a = np.concatenate([problem.u, problem.v])
    b = np.concatenate([problem.v, problem.u])
    ww = np.concatenate([w, w]) + 1e-9
    eid = np.concatenate([np.arange(problem.n_edges), np.arange(problem.n_edges)])
    keep = a != b
    a, b, ww, eid = a[keep], b[keep], ww[keep], eid[keep]
    # cheapest edge per ordered pair (csr_matrix would add parallel edges up)
    order = np.lexsort((ww, b, a))
    a, b, ww, eid = a[order], b[order], ww[order], eid[order]
    first = np.ones(len(a), dtype=bool)
    first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    a, b, ww, eid = a[first], b[first], ww[first], eid[first]
    graph = csr_matrix((ww, (a, b)), shape=(n, n))
    pair = {(int(x), int(y)): int(e) for x, y, e in zip(a, b, eid)}
    best, best_cost = None, float("inf")
    picks = [terms[i] for i in np.linspace(0, len(terms) - 1, min(roots, len(terms))).astype(int)]
    for root in dict.fromkeys(picks):
        in_tree = {root}
        edges: list[int] = []
        left = set(terms) - {root}
        while left:
            dist, pred, _ = dijkstra(graph, indices=sorted(in_tree), min_only=True,
                                     return_predecessors=True)
            t = min(left, key=lambda x: (dist[x], x))
            if not np.isfinite(dist[t]):
                return []
            x = t
            while x not in in_tree:
                y = int(pred[x])
                edges.append(pair[(y, x)])
                in_tree.add(x)
                x = y
            left -= in_tree
        cost = float(w[edges].sum())
        if cost < best_cost - 1e-9:
            best, best_cost = edges, cost
    return best or []


def _vertex_insertion(g: _Graph, w: np.ndarray, tree: list[int], terminals: set[int],
                      forced: set[int], *, max_passes: int = 5) -> list[int]:
    """Steiner-vertex insertion: add a neighbour of the tree, take the MST of the induced
    subgraph on the tree's nodes, prune; keep when cheaper."""
    cost = float(w[tree].sum())
    for _ in range(max_passes):
        nodes = {int(g.u[e]) for e in tree} | {int(g.v[e]) for e in tree}
        cand = sorted({g.other(e, x) for x in nodes for e in g.adj[x]} - nodes)
        improved = False
        for y in cand:
            sub = nodes | {y}
            induced = {e for x in sub for e in g.adj[x] if g.other(e, x) in sub}
            new = _clean_tree(g, w, induced, terminals, forced)
            c = float(w[new].sum())
            if c < cost - 1e-7 * max(1.0, cost) and _connects(g, np.array(new, dtype=np.int64), terminals):
                tree, cost, improved = new, c, True
                break
        if not improved:
            break
    return tree


def _solve_tree(problem: DesignProblem, g: _Graph, k: int, w: np.ndarray, *, seed: int,
                time_limit: float | None, quality: bool, polish: bool = True) -> list[int]:
    """Steiner tree of operator ``k`` under weights ``w`` (required edges forced, cost 0)."""
    forced = set(int(e) for e in problem.required_edges(k))
    terms = set(int(t) for t in problem.terminals[k])
    terms |= {int(problem.u[e]) for e in forced} | {int(problem.v[e]) for e in forced}
    if len(terms) < 2 and not forced:
        return []
    w = w.copy()
    if forced:
        w[list(forced)] = 0.0
    try:
        res = steiner.solve(problem.n_nodes, problem.u, problem.v, w, np.array(sorted(terms), dtype=np.int64),
                            time_limit=time_limit, quality=quality, seed=seed)
    except InfeasibleError as exc:
        raise InfeasibleError(f"operator {problem.operators[k]}: its sites are not all connected "
                              f"by the road network ({exc})") from None
    trees = [_clean_tree(g, w, list(res.edges.tolist()) + sorted(forced), terms, forced)]
    polish = polish and problem.n_nodes <= _POLISH_MAX_NODES
    if polish and problem.n_nodes <= _SPH_MAX_NODES:
        sph = _sph(problem, w, sorted(terms), roots=_SPH_ROOTS)
        if sph:
            trees.append(_clean_tree(g, w, sph + sorted(forced), terms, forced))
    best = None
    for tree in trees:
        if polish:
            tree = _key_path_exchange(g, w, tree, terms, forced)
            if problem.n_nodes <= _INSERTION_MAX_NODES:
                tree = _vertex_insertion(g, w, tree, terms, forced)
                tree = _key_path_exchange(g, w, tree, terms, forced)
        if best is None or float(w[tree].sum()) < float(w[best].sum()) - 1e-9:
            best = tree
    return best


def _incremental_weights(problem: DesignProblem, use: np.ndarray, k: int) -> np.ndarray:
    """Cost operator ``k`` adds per edge given the other operators' ducts (THB)."""
    others = use.copy()
    others[k] = False
    has_t, has_p = group_presence(problem, others)
    before = problem.mode_cost(has_t, has_p)
    if problem.kinds[k] == "telecom":
        after = problem.mode_cost(np.ones_like(has_t), has_p)
    else:
        after = problem.mode_cost(has_t, np.ones_like(has_p))
    return np.maximum(after - before, 0.0) + problem.duct_cost[k]


def _standalone_weights(problem: DesignProblem, k: int) -> np.ndarray:
    n = problem.n_edges
    t = problem.kinds[k] == "telecom"
    return problem.mode_cost(np.full(n, t), np.full(n, not t)) + problem.duct_cost[k]


# --------------------------------------------------------------------------- heuristic

@dataclass(frozen=True)
class DesignOptions:
    """Effort of :func:`plan_joint`.

    Attributes
    ----------
    rounds
        Maximum improvement rounds per start (each re-solves every operator once).
    orders
        Number of operator orders tried for the sequential starts (>= 1).
    time_limit
        Seconds per Steiner call (None = engine default).
    quality
        Ask the Steiner engine for its best effort.
    seed
        Seed of the engine and of the random orders (deterministic).
    objective
        'exact' (manholes counted) or 'linear' (per-metre manholes) to pick the best plan.
    pair_moves
        In each round also re-plan every pair of operators on one shared backbone tree
        (others fixed); lets two operators move to a new shared corridor together.
    """

    rounds: int = 4
    orders: int = 3
    time_limit: float | None = None
    quality: bool = False
    seed: int = 0
    objective: str = "exact"
    pair_moves: bool = True


def _score(problem: DesignProblem, use: np.ndarray, objective: str) -> float:
    return evaluate(problem, use).cost if objective == "exact" else linear_cost(problem, use)


def plan_joint(problem: DesignProblem, *, operators: Sequence[str] | None = None,
               options: DesignOptions = DesignOptions(),
               initial: Sequence[np.ndarray] = ()) -> JointPlan:
    """Plan the ducts of ``operators`` (default: all) sharing trenches, heuristically.

    Starts: every operator's stand-alone tree; sequential plans (each operator in turn on
    the trenches already dug, over several orders); shared backbones (one Steiner tree
    over all terminals, and one per group, each operator keeping the sub-tree it needs);
    and any ``initial`` use matrices. From each start, rounds re-solve every operator's
    tree with weight = its duct cost + the trench/manhole cost it would add (0, or only
    the joint-width surcharge, where others already dig), each tree polished by key-path
    exchange, accepting a tree only when the total falls; best plan kept. Deterministic.

    Parameters
    ----------
    problem
        The instance.
    operators
        Names of the coalition to plan; others get no ducts.
    options
        Effort and objective, see :class:`DesignOptions`.
    initial
        Extra starting use matrices ``(K, m)`` (rows outside the coalition are ignored).

    Returns
    -------
    JointPlan

    Raises
    ------
    InfeasibleError
        When an operator's terminals are not connected by the network.
    """
    K, m = problem.n_operators, problem.n_edges
    members = list(range(K)) if operators is None else sorted(problem.index(o) for o in operators)
    act = [k for k in members if problem.active(k)]
    g = _Graph(problem.n_nodes, problem.u, problem.v)
    empty = np.zeros((K, m), dtype=bool)
    if not act:
        return evaluate(problem, empty)
    opt = options
    t0 = time.perf_counter()

    def solve_k(k, w, seed):
        return _solve_tree(problem, g, k, w, seed=seed, time_limit=opt.time_limit, quality=opt.quality)

    starts: list[np.ndarray] = []
    alone = empty.copy()
    stand = {}
    for k in act:
        alone[k, solve_k(k, _standalone_weights(problem, k), opt.seed)] = True
        stand[k] = linear_cost(problem, _only(alone, k))
    starts.append(alone)
    if len(act) > 1:
        base = sorted(act, key=lambda k: (-stand[k], k))
        rng = np.random.default_rng(opt.seed)
        orders = [base, base[::-1]]
        while len(orders) < max(1, opt.orders):
            orders.append([act[i] for i in rng.permutation(len(act))])
        seen_orders = set()
        for order in orders[:max(1, opt.orders)]:
            if tuple(order) in seen_orders:
                continue
            seen_orders.add(tuple(order))
            use = empty.copy()
            for k in order:
                use[k, solve_k(k, _incremental_weights(problem, use, k), opt.seed)] = True
            starts.append(use)
        for group_sets in ([act], [[k for k in act if problem.kinds[k] == gr] for gr in GROUPS]):
            use = _backbone(problem, g, [s for s in group_sets if s], opt)
            if use is not None:
                starts.append(use)
    for init in initial:
        init = np.asarray(init, dtype=bool).copy()
        mask = np.zeros(K, dtype=bool)
        mask[act] = True
        init[~mask] = False
        if _valid(problem, g, init, act):
            starts.append(init)

    best_use, best = None, float("inf")
    for si, use in enumerate(starts):
        cur = linear_cost(problem, use)
        for r in range(max(0, opt.rounds) if len(act) > 1 else 1):
            changed = False
            order = act if r % 2 == 0 else act[::-1]
            for k in order:
                w = _incremental_weights(problem, use, k)
                tree = solve_k(k, w, opt.seed + r + 1)
                cand = use.copy()
                cand[k] = False
                cand[k, tree] = True
                cands = [cand]
                if problem.n_nodes <= _POLISH_MAX_NODES:
                    # also try polishing the current tree under the new weights
                    cur_tree = _key_path_exchange(g, w, np.flatnonzero(use[k]).tolist(),
                                                  set(problem.terminals[k].tolist())
                                                  | _forced_nodes(problem, k),
                                                  set(problem.required_edges(k).tolist()))
                    cand2 = use.copy()
                    cand2[k] = False
                    cand2[k, cur_tree] = True
                    cands.append(cand2)
                for c in cands:
                    val = linear_cost(problem, c)
                    if val < cur - 1e-7 * max(1.0, cur):
                        use, cur, changed = c, val, True
            if opt.pair_moves and len(act) > 2:
                # re-plan two operators at once on a shared backbone, the others fixed
                for k1, k2 in itertools.combinations(act, 2):
                    c = _backbone(problem, g, [[k1, k2]], opt, base=use, seed=opt.seed + r + 1)
                    if c is None:
                        continue
                    val = linear_cost(problem, c)
                    if val < cur - 1e-7 * max(1.0, cur):
                        use, cur, changed = c, val, True
            if not changed:
                break
        score = _score(problem, use, opt.objective)
        logger.debug("start %d: linear %.0f, score %.0f", si, cur, score)
        if score < best - 1e-9:
            best_use, best = use, score
    plan = evaluate(problem, best_use)
    logger.info("joint plan of %s: %.0f THB (%d starts, %.1f s)",
                ",".join(problem.operators[k] for k in act), plan.cost, len(starts), time.perf_counter() - t0)
    return plan


def _only(use: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros_like(use)
    out[k] = use[k]
    return out


def _forced_nodes(problem: DesignProblem, k: int) -> set[int]:
    r = problem.required_edges(k)
    return set(problem.u[r].tolist()) | set(problem.v[r].tolist())


def _valid(problem: DesignProblem, g: _Graph, use: np.ndarray, act: list[int]) -> bool:
    """Each active operator's edges connect its terminals and include its required edges."""
    for k in act:
        terms = set(problem.terminals[k].tolist()) | _forced_nodes(problem, k)
        if not set(problem.required_edges(k).tolist()) <= set(np.flatnonzero(use[k]).tolist()):
            return False
        if not _connects(g, np.flatnonzero(use[k]), terms):
            return False
    return True


def _connects(g: _Graph, edges: np.ndarray, terms: set[int]) -> bool:
    """Whether ``edges`` join all of ``terms`` (node ids)."""
    if len(terms) < 2:
        return True
    return terms <= _component(g, edges.tolist(), next(iter(terms)))


def _backbone(problem: DesignProblem, g: _Graph, groups: list[list[int]], opt: DesignOptions,
              base: np.ndarray | None = None, seed: int | None = None) -> np.ndarray | None:
    """One shared Steiner tree per list of operators; each operator keeps its sub-tree.

    Operators outside ``groups`` keep their ducts of ``base``; their trenches count as dug.
    """
    use = (np.zeros((problem.n_operators, problem.n_edges), dtype=bool) if base is None
           else np.asarray(base, dtype=bool).copy())
    for ks in groups:
        use[ks] = False
    for ks in groups:
        terms = set()
        for k in ks:
            terms |= set(problem.terminals[k].tolist()) | _forced_nodes(problem, k)
        if len(terms) < 2:
            continue
        probe = np.zeros_like(use)
        probe[ks] = True
        has_t, has_p = group_presence(problem, probe)
        # other groups' backbones already laid count as dug
        others_t, others_p = group_presence(problem, use)
        w = (problem.mode_cost(has_t | others_t, has_p | others_p) - problem.mode_cost(others_t, others_p)
             + problem.duct_cost[ks].sum(axis=0))
        try:
            res = steiner.solve(problem.n_nodes, problem.u, problem.v, np.maximum(w, 0.0),
                                np.array(sorted(terms), dtype=np.int64), time_limit=opt.time_limit,
                                quality=opt.quality, seed=opt.seed if seed is None else seed)
        except InfeasibleError:
            return None
        tree = res.edges.tolist()
        for k in ks:
            forced = set(problem.required_edges(k).tolist())
            kt = set(problem.terminals[k].tolist()) | _forced_nodes(problem, k)
            sub = _clean_tree(g, w, tree + sorted(forced), kt, forced)
            use[k, sub] = True
    return use


# --------------------------------------------------------------------------- stand-alone and bounds

def plan_alone(problem: DesignProblem, operator: str, *, options: DesignOptions = DesignOptions()) -> JointPlan:
    """The operator planned alone: its own tree, paying its own trench (THB, before contingency)."""
    return plan_joint(problem, operators=[operator], options=options)


def lower_bound(problem: DesignProblem, *, operators: Sequence[str] | None = None,
                time_limit: float | None = None, seed: int = 0, plan: JointPlan | None = None,
                objective: str = "exact", iterations: int = 8) -> float:
    """A valid lower bound (THB, before contingency) on the cost of any plan.

    Every edge a plan uses costs at least ``c_k(e)`` for each operator k using it, where
    ``c_k`` is the cheapest trench mode containing k's kind (variant A) or that plus the
    per-metre manholes of k's group (variant B: a group network of length L needs at
    least L / spacing + 1 chambers, since a forest has fewer runs than key nodes). So for
    any shares ``alpha_k(e) >= 0`` with ``sum_k alpha_k(e) <= 1`` (a Lagrangian-style
    relaxation of the shared trench),

        cost >= sum_k LB_k(alpha_k * c_k + duct_k)

    with ``LB_k`` the Steiner engine's valid lower bound for k's terminals. Shares tried:
    all of the trench to one operator (the best k), an even split between the K
    operators, and, with ``plan``, a split among the operators ``plan`` puts on the edge
    (all operators where it puts none); then ``iterations`` rounds move the shares
    (from the best single operator's, and from the last split) towards the operators
    whose bound trees use each edge. Variant A adds one manhole per site connection of
    each group, variant B one chamber per group with ducts (``objective='exact'``); for
    ``objective='linear'`` (per-metre manholes, no site chambers) those are left out. The
    result is the best of these valid bounds.
    """
    K = problem.n_operators
    members = list(range(K)) if operators is None else sorted(problem.index(o) for o in operators)
    act = [k for k in members if len(problem.terminals[k]) >= 2]
    if not act:
        return 0.0

    def lb(w, k):
        return float(steiner.solve(problem.n_nodes, problem.u, problem.v, w, problem.terminals[k],
                                   time_limit=time_limit, seed=seed).lower_bound)

    gi = {k: (0 if problem.kinds[k] == "telecom" else 1) for k in act}
    per_m = problem.length_m / problem.manhole_spacing_m

    def cmin(k, with_manholes):
        c = np.minimum(problem.trench[:, gi[k]], problem.trench[:, 2])
        return c + problem.manhole_cost[gi[k]] * per_m if with_manholes else c

    shares = []
    if len(act) > 1:
        shares.append({k: np.full(problem.n_edges, 1.0 / len(act)) for k in act})
        if plan is not None:
            users = plan.use[act].sum(axis=0)
            for_all = users == 0
            alpha = np.where(for_all, 1.0 / len(act), 1.0 / np.maximum(users, 1))
            shares.append({k: np.where(for_all | plan.use[k], alpha, 0.0) for k in act})
    duct_lb = {k: lb(problem.duct_cost[k], k) for k in act}
    bounds = []
    for with_mh in (False, True):
        best, best_k = 0.0, act[0]
        for k in act:
            val = lb(cmin(k, with_mh) + problem.duct_cost[k], k) + sum(duct_lb[j] for j in act if j != k)
            if val > best:
                best, best_k = val, k
        for alpha in shares:
            best = max(best, sum(lb(alpha[k] * cmin(k, with_mh) + problem.duct_cost[k], k) for k in act))
        if len(act) > 1 and iterations > 0:
            one = {k: np.full(problem.n_edges, 1.0 if k == best_k else 0.0) for k in act}
            for start in (one, shares[-1]):
                best = max(best, _share_ascent(problem, act, {k: cmin(k, with_mh) for k in act},
                                               start, iterations=iterations, time_limit=time_limit, seed=seed))
        if objective == "exact":
            if with_mh:
                best += sum(problem.manhole_cost[i] for i, g in enumerate(GROUPS) if any(gi[k] == i for k in act))
            else:
                best += sum(len(group_terminals(problem, g, act)) * problem.manhole_cost[i]
                            for i, g in enumerate(GROUPS))
        bounds.append(best)
    return max(bounds)


def _share_ascent(problem: DesignProblem, act: list[int], c: dict[int, np.ndarray], alpha: dict[int, np.ndarray], *,
                  iterations: int, time_limit: float | None, seed: int) -> float:
    """Best of ``sum_k LB_k(alpha_k * c_k + duct_k)`` while moving the shares towards the
    operators whose trees use each edge (shares always sum to 1 per edge: valid bounds)."""
    alpha = {k: a.copy() for k, a in alpha.items()}
    best = 0.0
    for it in range(iterations):
        used = {}
        total = 0.0
        for k in act:
            res = steiner.solve(problem.n_nodes, problem.u, problem.v, alpha[k] * c[k] + problem.duct_cost[k],
                                problem.terminals[k], time_limit=time_limit, seed=seed)
            total += float(res.lower_bound)
            mask = np.zeros(problem.n_edges, dtype=bool)
            mask[res.edges] = True
            used[k] = mask
        best = max(best, total)
        users = sum(used[k].astype(float) for k in act)
        step = 0.5 / (1 + it)
        for k in act:
            target = np.where(users > 0, used[k] / np.maximum(users, 1.0), alpha[k])
            alpha[k] = (1 - step) * alpha[k] + step * target
        norm = sum(alpha[k] for k in act)
        for k in act:
            alpha[k] = np.where(norm > 1.0, alpha[k] / np.maximum(norm, 1e-12), alpha[k])
    return best


# --------------------------------------------------------------------------- exact MILP

@dataclass(frozen=True)
class MilpResult:
    """Exact (or best found) plan of the linear objective.

    Attributes
    ----------
    use
        ``(K, m)`` bool.
    cost
        Linear cost of ``use`` (THB).
    bound
        Dual bound of the solver (THB).
    optimal
        The solver proved optimality.
    """

    use: np.ndarray
    cost: float
    bound: float
    optimal: bool


def solve_milp(problem: DesignProblem, *, operators: Sequence[str] | None = None,
               time_limit: float = 60.0) -> MilpResult:
    """Solve the linear-cost joint problem exactly with HiGHS (``scipy.optimize.milp``).

    Multi-commodity flow formulation: binary trench modes ``w[e, mode]`` (at most one per
    edge), binary duct use ``x[k, e] <= sum of modes containing kind(k)``, and for every
    operator and every terminal but its root a unit flow from the root, with
    ``f(u->v) + f(v->u) <= x[k, e]``. Minimises sum mode cost x w + sum duct cost x x.
    Meant for small instances (tens of edges).

    Raises
    ------
    InfeasibleError
        When the solver finds no feasible plan.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_matrix

    K, m, n = problem.n_operators, problem.n_edges, problem.n_nodes
    members = list(range(K)) if operators is None else sorted(problem.index(o) for o in operators)
    act = [k for k in members if problem.active(k)]
    mh = problem.length_m / problem.manhole_spacing_m
    mode_cost = np.column_stack([
        problem.trench[:, 0] + problem.manhole_cost[0] * mh,
        problem.trench[:, 1] + problem.manhole_cost[1] * mh,
        problem.trench[:, 2] + (problem.manhole_cost[0] + problem.manhole_cost[1]) * mh])
    commodities = []
    for k in act:
        terms = sorted(set(problem.terminals[k].tolist()) | _forced_nodes(problem, k))
        for t in terms[1:]:
            commodities.append((k, terms[0], t))
    nw, nx_ = 3 * m, len(act) * m
    nf = len(commodities) * 2 * m
    nvar = nw + nx_ + nf
    W = lambda e, md: e * 3 + md  # noqa: E731
    X = lambda ki, e: nw + ki * m + e  # noqa: E731
    F = lambda c, e, d: nw + nx_ + c * 2 * m + 2 * e + d  # noqa: E731
    c = np.zeros(nvar)
    c[:nw] = mode_cost.ravel()
    for ki, k in enumerate(act):
        c[nw + ki * m: nw + (ki + 1) * m] = problem.duct_cost[k]
    rows, cols, vals, lo, hi = [], [], [], [], []
    r = 0

    def add(entries, lb, ub):
        nonlocal r
        for col, val in entries:
            rows.append(r)
            cols.append(col)
            vals.append(val)
        lo.append(lb)
        hi.append(ub)
        r += 1

    for e in range(m):
        add([(W(e, 0), 1), (W(e, 1), 1), (W(e, 2), 1)], -np.inf, 1)
    for ki, k in enumerate(act):
        md = (0, 2) if problem.kinds[k] == "telecom" else (1, 2)
        for e in range(m):
            add([(X(ki, e), 1), (W(e, md[0]), -1), (W(e, md[1]), -1)], -np.inf, 0)
    kidx = {k: ki for ki, k in enumerate(act)}
    for ci, (k, root, t) in enumerate(commodities):
        ki = kidx[k]
        for e in range(m):
            add([(F(ci, e, 0), 1), (F(ci, e, 1), 1), (X(ki, e), -1)], -np.inf, 0)
        # conservation: out - in = +1 at root, -1 at t, 0 elsewhere
        node_entries: list[list[tuple[int, float]]] = [[] for _ in range(n)]
        for e in range(m):
            a, b = int(problem.u[e]), int(problem.v[e])
            node_entries[a].append((F(ci, e, 0), 1.0))   # a->b out of a
            node_entries[b].append((F(ci, e, 0), -1.0))
            node_entries[b].append((F(ci, e, 1), 1.0))   # b->a out of b
            node_entries[a].append((F(ci, e, 1), -1.0))
        for x in range(n):
            rhs = 1.0 if x == root else (-1.0 if x == t else 0.0)
            if node_entries[x] or rhs:
                add(node_entries[x], rhs, rhs)
    A = coo_matrix((vals, (rows, cols)), shape=(r, nvar)).tocsr()
    integrality = np.zeros(nvar)
    integrality[:nw + nx_] = 1
    lb = np.zeros(nvar)
    ub = np.ones(nvar)
    for k in act:
        for e in problem.required_edges(k).tolist():
            lb[X(kidx[k], e)] = 1
    res = milp(c, constraints=LinearConstraint(A, lo, hi), integrality=integrality,
               bounds=Bounds(lb, ub), options={"time_limit": float(time_limit), "disp": False})
    if res.x is None:
        raise InfeasibleError(f"MILP found no plan ({res.message})")
    use = np.zeros((K, m), dtype=bool)
    for ki, k in enumerate(act):
        use[k] = res.x[nw + ki * m: nw + (ki + 1) * m] > 0.5
    bound = float(getattr(res, "mip_dual_bound", None) or res.fun)
    return MilpResult(use=use, cost=linear_cost(problem, use), bound=bound, optimal=res.status == 0)


# --------------------------------------------------------------------------- instances for tests

def random_problem(seed: int, *, n_operators: int = 3, rows: int = 5, cols: int = 6,
                   terminals: tuple[int, int] = (2, 4), model: Any = None) -> DesignProblem:
    """A small random joint instance on a perturbed grid, priced with a cost model.

    For tests and benchmarks: ``rows x cols`` nodes, about 15% of grid edges dropped (the
    grid stays connected), lengths 60-180 m, random road classes, surfaces and a few
    bridges; operators alternate telecom/power (the first is telecom, the second power)
    with 1-4 ducts and 2..terminals[1] random sites each.
    """
    from connectivity.costs import duct_costs, edge_costs, load_cost_model, make_edge_table

    model = model or load_cost_model()
    rng = np.random.default_rng(seed)
    n = rows * cols
    cand = []
    for r in range(rows):
        for c in range(cols):
            i = r * cols + c
            if c + 1 < cols:
                cand.append((i, i + 1))
            if r + 1 < rows:
                cand.append((i, i + cols))
    order = rng.permutation(len(cand))
    # random spanning tree first (Kruskal on random order), then keep 70% of the rest
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    keep = []
    for i in order:
        a, b = cand[i]
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[ra] = rb
            keep.append(i)
        elif rng.random() < 0.7:
            keep.append(i)
    keep.sort()
    u = np.array([cand[i][0] for i in keep])
    v = np.array([cand[i][1] for i in keep])
    m = len(u)
    classes = np.array(["residential", "service", "tertiary", "secondary", "primary", "unclassified"])
    highway = classes[rng.choice(len(classes), size=m, p=[0.35, 0.1, 0.2, 0.15, 0.1, 0.1])]
    surface = np.array(["asphalt", "concrete", "unpaved"])[rng.choice(3, size=m, p=[0.6, 0.2, 0.2])]
    bridge = rng.random(m) < 0.04
    length = rng.uniform(60, 180, size=m).round(1)
    table = make_edge_table(u, v, length, highway=highway, surface=surface, bridge=bridge)
    ec = edge_costs(model, table)
    kinds = ["telecom" if i % 2 == 0 else "power" for i in range(n_operators)]
    kinds = [kinds[0], kinds[1] if n_operators > 1 else "telecom"] + [
        str(rng.choice(GROUPS)) for _ in range(n_operators - 2)]
    kinds = kinds[:n_operators]
    ducts = rng.integers(1, 5, size=n_operators)
    diam = rng.choice([100, 125, 150], size=n_operators)
    dc = duct_costs(model, length, ducts=ducts.tolist(), diameters_mm=diam.tolist())
    terms = [rng.choice(n, size=int(rng.integers(terminals[0], terminals[1] + 1)), replace=False)
             for _ in range(n_operators)]
    return make_problem(n_nodes=n, u=u, v=v, length_m=length, trench=ec.trench,
                        operators=[f"OP{i}" for i in range(n_operators)], kinds=kinds, duct_cost=dc,
                        ducts=ducts, terminals=terms, manhole_cost=(model.manhole_telecom, model.manhole_power),
                        manhole_spacing_m=model.manhole_spacing_m, contingency_factor=model.contingency_factor)


# --------------------------------------------------------------------------- coalitions and dig-once

@dataclass(frozen=True)
class CoalitionTable:
    """The best plan found for every coalition of the operators with sites.

    Attributes
    ----------
    players
        Operators with ducts to lay (the others are null players).
    null
        Operators without sites.
    cost
        coalition (frozenset of names) -> THB including contingency; the empty set costs 0.
    plans
        coalition -> its :class:`JointPlan` (costs before contingency).
    complete
        Every coalition was planned (False beyond ``max_players``: singletons and grand only).
    """

    players: tuple[str, ...]
    null: tuple[str, ...]
    cost: dict[frozenset, float]
    plans: dict[frozenset, JointPlan]
    complete: bool

    def __call__(self, coalition: frozenset) -> float:
        """Cost of a coalition (null players ignored), THB including contingency."""
        return self.cost[frozenset(coalition) & frozenset(self.players)]


def _restrict(use: np.ndarray, members: Sequence[int]) -> np.ndarray:
    out = np.zeros_like(use)
    out[list(members)] = use[list(members)]
    return out


def plan_coalitions(problem: DesignProblem, *, options: DesignOptions = DesignOptions(),
                    coalition_options: DesignOptions | None = None, grand: JointPlan | None = None,
                    max_players: int = 8) -> CoalitionTable:
    """Plan every coalition of the operators with sites (2^n - 1 plans, n <= ``max_players``).

    Bottom-up, each coalition S starts also from the union of the plans of S minus one
    operator and that operator alone; top-down, the plan of S + j restricted to S is tried
    as a plan of S. So coalition costs are consistent: c(S) <= c(S - i) + c(i) up to the
    manholes the union adds, and c(S) <= restricted c(S + j). The grand coalition uses
    ``options`` (and ``grand`` when given); smaller ones ``coalition_options``.
    """
    K = problem.n_operators
    act = [k for k in range(K) if problem.active(k)]
    names = {k: problem.operators[k] for k in act}
    null = tuple(problem.operators[k] for k in range(K) if k not in act)
    small = coalition_options or DesignOptions(rounds=max(1, options.rounds // 2), orders=2,
                                               time_limit=options.time_limit, quality=options.quality,
                                               seed=options.seed, objective=options.objective)
    complete = len(act) <= max_players
    if complete:
        subsets = [tuple(s) for r in range(1, len(act) + 1) for s in itertools.combinations(act, r)]
    else:
        logger.warning("%d operators with sites: only stand-alone and joint plans (no exact Shapley value)", len(act))
        subsets = [(k,) for k in act] + [tuple(act)]
    plans: dict[tuple, JointPlan] = {}
    for s in subsets:
        ops = [names[k] for k in s]
        initial = []
        if len(s) > 1:
            for i in s:
                rest = tuple(k for k in s if k != i)
                if rest in plans and (i,) in plans:
                    initial.append(plans[rest].use | plans[(i,)].use)
        if len(s) == len(act) and grand is not None:
            initial.append(grand.use)
        opt = options if len(s) == len(act) else small
        plan = plan_joint(problem, operators=ops, options=opt, initial=initial)
        for init in initial:
            cand = evaluate(problem, _restrict(init, s))
            if cand.cost < plan.cost - 1e-6:
                plan = cand
        plans[s] = plan
    # top-down: a bigger coalition's plan restricted to a smaller one is a plan of it
    for s in sorted(plans, key=len, reverse=True):
        for t, pt in plans.items():
            if len(t) == len(s) + 1 and set(s) <= set(t):
                cand = evaluate(problem, _restrict(pt.use, s))
                if cand.cost < plans[s].cost - 1e-6:
                    plans[s] = cand
    f = problem.contingency_factor
    cost = {frozenset(): 0.0}
    out_plans = {}
    for s, p in plans.items():
        key = frozenset(names[k] for k in s)
        cost[key] = p.cost * f
        out_plans[key] = p
    return CoalitionTable(players=tuple(names[k] for k in act), null=null, cost=cost, plans=out_plans,
                          complete=complete)


@dataclass(frozen=True)
class DigOnce:
    """Joint plan versus every operator trenching alone (THB including contingency).

    Attributes
    ----------
    joint_cost, separate_cost
        Cost of the joint plan and the sum of the stand-alone plans.
    savings, savings_pct
        ``separate_cost - joint_cost`` and that as a percentage of ``separate_cost``.
    stand_alone
        Operator -> cost of its plan alone (0 for operators without sites).
    """

    joint_cost: float
    separate_cost: float
    savings: float
    savings_pct: float
    stand_alone: dict[str, float]


def dig_once(table: CoalitionTable, operators: Sequence[str]) -> DigOnce:
    """Dig-once comparison from a coalition table (all ``operators``, null ones at 0)."""
    stand = {op: (table.cost[frozenset([op])] if op in table.players else 0.0) for op in operators}
    joint = table.cost[frozenset(table.players)]
    separate = float(sum(stand.values()))
    savings = separate - joint
    return DigOnce(joint_cost=joint, separate_cost=separate, savings=savings,
                   savings_pct=100.0 * savings / separate if separate > 0 else 0.0, stand_alone=stand)


def duct_metres(problem: DesignProblem, plan: JointPlan) -> dict[str, float]:
    """Operator -> ducts x metres of its ducts in ``plan``."""
    return {op: float(problem.ducts[k] * problem.length_m[plan.use[k]].sum())
            for k, op in enumerate(problem.operators)}


def build_problem(model: Any, table: Any, costs: Any, *, n_nodes: int, operators: Sequence[Any],
                  terminals: Mapping[str, Sequence[int]],
                  required: Mapping[str, Sequence[int]] | None = None) -> DesignProblem:
    """A :class:`DesignProblem` from a cost model, an edge table and its edge costs.

    Parameters
    ----------
    model
        :class:`connectivity.costs.CostModel` (duct and manhole prices, contingency).
    table, costs
        :class:`connectivity.costs.EdgeTable` and the :class:`connectivity.costs.EdgeCosts` of it.
    operators
        :class:`connectivity.config.OperatorSpec` of every operator (name, kind, ducts, diameter).
    terminals
        Operator name -> node ids of its sites and hub (missing = none).
    required
        Operator name -> edge ids its ducts must use.
    """
    from connectivity.costs import duct_costs

    names = [o.name for o in operators]
    unknown = sorted(set(terminals) - set(names)) + sorted(set(required or {}) - set(names))
    if unknown:
        raise ConfigError(f"unknown operator(s) {', '.join(unknown)}; known: {', '.join(names)}")
    dc = duct_costs(model, table.length_m, ducts=[o.ducts for o in operators],
                    diameters_mm=[o.duct_diameter_mm for o in operators])
    return make_problem(n_nodes=n_nodes, u=table.u, v=table.v, length_m=table.length_m, trench=costs.trench,
                        operators=names, kinds=[o.kind for o in operators], duct_cost=dc,
                        ducts=[o.ducts for o in operators],
                        terminals=[terminals.get(o, ()) for o in names],
                        manhole_cost=(model.manhole_telecom, model.manhole_power),
                        manhole_spacing_m=model.manhole_spacing_m,
                        required=None if required is None else [required.get(o, ()) for o in names],
                        contingency_factor=model.contingency_factor)


# --------------------------------------------------------------------------- scenario adapters

@dataclass(frozen=True)
class DesignSettings:
    """The scenario's ``[design]`` table.

    Attributes
    ----------
    underground_aerial
        Require the road edges along overhead lines / pole rows in the plan (their owner,
        or the first operator of the line's group, takes them underground).
    aerial_reuse
        Price trench along overhead lines / pole rows as a reused corridor (cost model
        ``reuse.discount``).
    aerial_buffer_m
        Distance from the road centre line within which a line or pole follows the road (m).
    pole_distance_m
        A pole this close to planned trench on a matched edge can be removed (m).
    rounds, orders
        Effort of the joint heuristic (see :class:`DesignOptions`).
    shapley
        Plan every coalition for the Shapley value and the core check.
    """

    underground_aerial: bool = False
    aerial_reuse: bool = True
    aerial_buffer_m: float = 15.0
    pole_distance_m: float = 10.0
    rounds: int = 4
    orders: int = 3
    shapley: bool = True


def design_settings(table: Mapping[str, Any] | None, source: str = "<scenario>") -> DesignSettings:
    """Parse a scenario's ``[design]`` table (unknown keys are errors).

    Raises
    ------
    ConfigError
        On an unknown key or a value of the wrong type, naming ``source`` and the key.
    """
    from dataclasses import fields

    table = dict(table or {})
    allowed = {f.name: f for f in fields(DesignSettings)}
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise ConfigError(f"{source}: [design] unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
    kw: dict[str, Any] = {}
    for key, value in table.items():
        default = getattr(DesignSettings(), key)
        where = f"{source}: design.{key}"
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise ConfigError(f"{where} must be true or false")
        elif isinstance(default, int):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
                raise ConfigError(f"{where} must be an integer from 1 to 100")
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 10_000:
            raise ConfigError(f"{where} must be a positive number of metres")
        kw[key] = float(value) if isinstance(default, float) else value
    return DesignSettings(**kw)


def terminals_by_operator(node_component: np.ndarray, sites: Any, operators: Sequence[str]
                          ) -> tuple[dict[str, np.ndarray], list[str]]:
    """Operator -> terminal node ids from attached sites; sites its ducts cannot reach are dropped.

    An operator's ducts form one tree, so only its sites in one road component can be
    joined: the component holding most of its sites (then the one with its hub, then the
    lowest id); an operator left with a single site gets no terminal. Returns the
    terminals and the ``site_id`` of dropped sites.
    """
    out: dict[str, np.ndarray] = {}
    dropped: list[str] = []
    att = sites[sites["node_id"].notna()]
    for op in operators:
        rows = att[att["operator"] == op]
        if len(rows) == 0:
            out[op] = np.zeros(0, dtype=np.int64)
            continue
        nodes = rows["node_id"].to_numpy(np.int64)
        comp = node_component[nodes]
        hub = (rows["kind"] == "hub").to_numpy() if "kind" in rows else np.zeros(len(rows), bool)
        counts: dict[int, tuple] = {}
        for c in np.unique(comp):
            counts[int(c)] = (int((comp == c).sum()), bool(hub[comp == c].any()), -int(c))
        best = max(counts, key=lambda c: counts[c])
        keep = comp == best
        if keep.sum() < 2:   # a single site: nothing for its ducts to join
            keep[:] = False
        dropped += rows.loc[~keep, "site_id"].astype(str).tolist()
        out[op] = np.unique(nodes[keep])
    return out, dropped
