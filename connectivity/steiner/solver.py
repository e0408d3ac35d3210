"""Steiner tree solver: reductions, multi-root SPH, local search, dual-ascent bound."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from connectivity.errors import InfeasibleError, InputDataError
from connectivity.steiner.bound import dual_ascent
from connectivity.steiner.graph import CSRGraph, build_csr, simplify
from connectivity.steiner.heuristics import mst_prune
from connectivity.steiner.localsearch import improve
from connectivity.steiner.paths import component_labels, sph
from connectivity.steiner.reduce import Reduction, expand, reduce_graph

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SteinerResult:
    """A Steiner tree and its certificate.

    Attributes
    ----------
    edges : numpy.ndarray
        Sorted int64 indices into the input edge arrays.
    cost : float
        Sum of the weights of ``edges`` (unit of the weights).
    lower_bound : float
        A proven lower bound on the optimum cost (``<= optimum``).
    seconds : float
        Wall-clock time spent in :func:`solve`, seconds.
    """

    edges: np.ndarray
    cost: float
    lower_bound: float
    seconds: float

    @property
    def gap(self) -> float:
        """Certified relative gap ``cost / lower_bound - 1`` (0 when cost is 0)."""
        if self.cost == 0:
            return 0.0
        if self.lower_bound <= 0:
            return float("inf")
        return self.cost / self.lower_bound - 1.0


@dataclass(frozen=True)
class _Budget:
    start: float
    limit: float | None

    def left(self) -> float:
        if self.limit is None:
            return float("inf")
        return self.limit - (time.perf_counter() - self.start)


def _validate(n_nodes, edges_u, edges_v, weights, terminals):
    if int(n_nodes) < 0:
        raise InputDataError(f"n_nodes must be >= 0, got {n_nodes}")
    n = int(n_nodes)
    eu = np.asarray(edges_u, dtype=np.int64).ravel()
    ev = np.asarray(edges_v, dtype=np.int64).ravel()
    ew = np.asarray(weights, dtype=np.float64).ravel()
    terms = np.unique(np.asarray(terminals, dtype=np.int64).ravel())
    if not (len(eu) == len(ev) == len(ew)):
        raise InputDataError(f"edge arrays differ in length: {len(eu)}, {len(ev)}, {len(ew)}")
    if len(eu) and (min(eu.min(), ev.min()) < 0 or max(eu.max(), ev.max()) >= n):
        raise InputDataError(f"edge end node outside 0..{n - 1}")
    if len(terms) and (terms[0] < 0 or terms[-1] >= n):
        raise InputDataError(f"terminal outside 0..{n - 1}")
    if len(ew) and not (np.all(np.isfinite(ew)) and ew.min() >= 0):
        bad = int(np.nonzero(~(np.isfinite(ew) & (ew >= 0)))[0][0])
        raise InputDataError(f"edge {bad} has weight {ew[bad]!r}; weights must be finite and >= 0")
    return n, eu, ev, ew, terms


def solve(n_nodes: int, edges_u, edges_v, weights, terminals, *, time_limit: float | None = None,
          quality: bool = False, seed: int = 0) -> SteinerResult:
    """Find a near-optimal Steiner tree and a lower bound on the optimum.

    Parameters
    ----------
    n_nodes : int
        Number of nodes; ids are ``0 .. n_nodes - 1``.
    edges_u, edges_v : array_like of int
        Edge end nodes (parallel edges and self-loops allowed).
    weights : array_like of float
        Non-negative edge weights (any unit, e.g. metres or baht).
    terminals : array_like of int
        Nodes to connect (duplicates ignored).
    time_limit : float, optional
        Wall-clock budget in seconds. Default mode does a fixed amount of
        work and stops early if the budget runs out; quality mode keeps
        improving until the budget is spent (60 s when not given).
    quality : bool
        Keep improving (perturbed restarts, recombination, local search).
    seed : int
        Seed of the random choices; equal inputs and seed give equal output.

    Returns
    -------
    SteinerResult

    Raises
    ------
    InputDataError
        If arrays are inconsistent, ids out of range or weights negative.
    InfeasibleError
        If the terminals are not all in one connected component.
    """
    start = time.perf_counter()
    n, eu, ev, ew, terms = _validate(n_nodes, edges_u, edges_v, weights, terminals)
    if quality and time_limit is None:
        time_limit = 60.0
    budget = _Budget(start, time_limit)
    if len(terms) < 2:
        return SteinerResult(np.zeros(0, np.int64), 0.0, 0.0, time.perf_counter() - start)
    su, sv, sw, orig = simplify(n, eu, ev, ew)
    su, sv, sw, orig = _terminal_component(n, su, sv, sw, orig, terms)
    red = reduce_graph(n, su, sv, sw, terms)
    if len(red.terminals) <= 1:
        simple_edges = expand(red, np.zeros(0, np.int64))
        lb_red, red_edges = 0.0, None
    else:
        red_edges, lb_red = _solve_reduced(red, budget, quality=quality, seed=seed)
        simple_edges = expand(red, red_edges)
    edges = np.sort(orig[simple_edges])
    cost = float(ew[edges].sum())
    fixed_cost = float(ew[orig[expand(red, np.zeros(0, np.int64))]].sum())
    lower = min(cost, (fixed_cost + lb_red) * (1.0 - 1e-12))
    if red_edges is None:
        lower = cost
    secs = time.perf_counter() - start
    logger.info("steiner: cost %.6g, lower bound %.6g, %.3f s", cost, lower, secs)
    return SteinerResult(edges=edges, cost=cost, lower_bound=lower, seconds=secs)


def _terminal_component(n, su, sv, sw, orig, terms):
    """Keep only the edges of the terminals' component; raise if terminals are split."""
    g = build_csr(n, su, sv, sw)
    comp = component_labels(g.indptr, g.head)
    c = comp[terms]
    if np.any(c != c[0]):
        bad = int(terms[np.nonzero(c != c[0])[0][0]])
        raise InfeasibleError(
            f"terminals are not all connected: terminal {bad} is not in the component of terminal {int(terms[0])}")
    keep = comp[su] == c[0]
    return su[keep], sv[keep], sw[keep], orig[keep]


def _solve_reduced(red: Reduction, budget: _Budget, *, quality: bool, seed: int):
    """Heuristic + bound on the reduced graph; returns (reduced edge ids, lower bound)."""
    su, sv, sw, orig = simplify(red.n, red.eu, red.ev, red.ew)
    g = build_csr(red.n, su, sv, sw)
    is_term = np.zeros(red.n, np.bool_)
    is_term[red.terminals] = True
    order = np.lexsort((np.arange(len(sw)), sw)).astype(np.int64)
    rng = np.random.default_rng(seed)
    tree, cost = _construct(g, is_term, red.terminals, order, rng, budget, quality=quality)
    lb = _lower_bound(g, is_term, red.terminals, budget)
    return orig[np.nonzero(tree)[0]], lb


def _tree_cost(g: CSRGraph, tree: np.ndarray) -> float:
    return float(g.ew[tree].sum())


def _construct(g, is_term, terms, order, rng, budget, *, quality):
    n_roots = min(len(terms), 8)
    roots = rng.choice(terms, size=n_roots, replace=False)
    best, best_cost = None, np.inf
    for k, r in enumerate(roots):
        if k > 0 and budget.left() < 0:
            break
        mask, reached = sph(g.indptr, g.head, g.arc_w, is_term, int(r), len(terms))
        tree = mst_prune(g.n, g.eu, g.ev, order, is_term, mask)
        tree = improve(g, is_term, order, tree, budget)
        c = _tree_cost(g, tree)
        if c < best_cost:
            best, best_cost = tree, c
    return best, best_cost


def _lower_bound(g, is_term, terms, budget) -> float:
    root = int(terms[np.argmax(np.diff(g.indptr)[terms])])
    lb, _rc, _complete = dual_ascent(g.indptr, g.head, g.arc_w, g.rev, is_term, root, 200 * (g.m + g.n) + 10**6)
    return float(lb)
