"""Steiner tree solver: reductions, multi-root SPH, local search, dual-ascent bound.

Pipeline of :func:`solve`:

0. fixed edges (``fixed_edges=``): weight 0 and their ends become
   terminals; at the end they are merged into the tree (tree edges closing a
   cycle with them dropped) and their weights added to cost and bound;
1. validate, drop self-loops, keep the lightest parallel edge, keep the
   terminals' component (``InfeasibleError`` if they are split); a warm
   start (``initial=``) is cleaned/repaired on this simple graph;
2. exact degree reductions (:mod:`.reduce`);
3. dual ascent (:mod:`.bound`) for the lower bound, with a work cap
   proportional to the graph size (skipped with ``bound=False``);
4. candidate trees: the shortest-path heuristic on the dual's reduced costs
   and on the weights from several roots, each followed by MST-prune, plus
   the warm start mapped onto the reduced graph;
5. local search (key-path exchange + key-vertex elimination,
   :mod:`.localsearch`) on the best candidates;
6. quality mode only: dual ascent from more roots, perturbed restarts and
   recombination of elite trees until the time limit.

All hot loops are numba kernels on CSR arrays; the default mode does a fixed,
size-dependent amount of work, so it is deterministic for a given seed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from connectivity.errors import InfeasibleError, InputDataError
from connectivity.steiner.bound import dual_ascent
from connectivity.steiner.exact import dreyfus_wagner
from connectivity.steiner.fixing import ascent_roots, edges_kept_by_all
from connectivity.steiner.graph import CSRGraph, build_csr, simplify
from connectivity.steiner.heuristics import merge_fixed, mst_prune
from connectivity.steiner.localsearch import improve, spans_terminals
from connectivity.steiner.paths import reached, sph
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
          quality: bool = False, seed: int = 0, fixed_edges=None, initial=None,
          bound: bool = True, quick: bool = False, bound_roots: int = 1, tighten: int = 0) -> SteinerResult:
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
        Seed of the random choices. Equal inputs and seed give equal output
        whenever the time limit does not cut the work short (always in
        default mode without ``time_limit``); quality mode stops on the
        clock, so its result can vary with machine load.
    fixed_edges : array_like of int, optional
        Ids of edges (indices into the edge arrays) that must be in the
        result, e.g. required corridors (duplicates ignored). The result
        contains all of them and connects the terminals and both ends of
        every fixed edge into one connected subgraph; ``cost`` includes their
        weights and ``lower_bound`` is a bound for this constrained problem
        (solved as: fixed edges at weight 0, their ends made terminals, their
        weights added back). Non-fixed edges never close a cycle, so the
        result is a tree unless the fixed edges themselves contain a cycle
        (or a self-loop); then it is a connected subgraph whose only cycles
        are made of fixed edges.
    initial : array_like of int, optional
        Warm start: ids of edges of a tree (or any edge set) meant to
        connect the terminals under these weights, e.g. the tree of an
        earlier call. It is cleaned (minimum spanning tree of the subgraph
        induced by its nodes and the terminals, then non-terminal leaves
        pruned); if that does not connect all terminals (and fixed-edge
        ends) it is repaired by shortest paths in which its own nodes are
        free (a shortest-path heuristic with edges between its nodes at
        weight 0, then the same cleaning on the union). When the cleaned
        warm start is cheaper than all of the engine's own candidate trees it
        is improved by the local search too (one more local search) and the
        best tree wins: the result never costs more than the cleaned warm
        start nor than the result without ``initial`` (same seed). It does
        not make the call faster; it is a quality guarantee, e.g. between
        calls with slightly changed weights.
    bound : bool
        Compute the dual-ascent lower bound (default). With False the dual
        ascent is skipped (about 5-20 % less time on large road graphs),
        ``lower_bound`` is 0.0 and the tree can differ from the one with
        ``bound=True`` (the dual's reduced costs seed one candidate tree).
    quick : bool
        Return the tree of the shortest-path heuristic on the dual's reduced
        costs only (no other roots, no local search): for callers that need
        the lower bound and any good tree, e.g. subgradient steps. Needs ``bound``.
    bound_roots : int
        Run the dual ascent from this many terminals of the reduced graph (the one of
        highest degree, then others spread evenly over the rest) and keep the best bound;
        its reduced costs seed the first candidate tree. Each root costs one more ascent
        (linear in the graph); on Chiang Mai's three operator trees 20 roots instead of one
        brought the bound from 1.55, 0.02 and 2.52 % to 0.16, 0.02 and 0.92 % below the
        best tree found (quality mode, 3 s).
    tighten : int
        Rounds of reduced-cost fixing after the bound (:mod:`.fixing`; needs ``bound``): the
        dual ascents from ``bound_roots`` roots rule out the edges no tree as cheap as the best
        one known can use, the degree reductions shrink what is left, and a new tree and new
        ascents there give the next round; the bound is the best seen, never above ``cost``.
        Stops early when a round rules out no edge, the bound meets the best tree's cost or
        ``time_limit`` has passed (after the first round). Deterministic without a time limit;
        about the cost of ``bound_roots`` more ascents and one more tree per round, on graphs
        that shrink.

    Returns
    -------
    SteinerResult
        ``edges`` sorted input edge ids (parallel edges: the lightest one
        is used), ``cost`` their total weight in the unit of ``weights``,
        ``lower_bound`` in the same unit, ``seconds`` wall-clock seconds.

    Raises
    ------
    InputDataError
        If arrays are inconsistent, ids (nodes, terminals, ``fixed_edges``,
        ``initial``) are out of range, weights are negative or not finite, or
        ``bound_roots`` is no positive integer.
    InfeasibleError
        If the terminals and the ends of the fixed edges are not all in one
        connected component.
    """
    start = time.perf_counter()
    n, eu, ev, ew, terms = _validate(n_nodes, edges_u, edges_v, weights, terminals)
    fixed = _edge_ids(fixed_edges, len(eu), "fixed_edges")
    init = _edge_ids(initial, len(eu), "initial")
    if isinstance(bound_roots, bool) or not isinstance(bound_roots, (int, np.integer)) or bound_roots < 1:
        raise InputDataError(f"bound_roots must be a positive integer, got {bound_roots!r}")
    if isinstance(tighten, bool) or not isinstance(tighten, (int, np.integer)) or tighten < 0:
        raise InputDataError(f"tighten must be an integer >= 0, got {tighten!r}")
    if quality and time_limit is None:
        time_limit = 60.0
    budget = _Budget(start, time_limit)
    w = ew
    fixed_w = 0.0
    if len(fixed):
        w = ew.copy()
        w[fixed] = 0.0
        fixed_w = float(ew[fixed].sum())
        terms = np.union1d(terms, np.concatenate((eu[fixed], ev[fixed])))
    if len(terms) < 2:  # no terminals to join; fixed edges (if any) are self-loops at one node
        return SteinerResult(fixed, fixed_w, fixed_w if bound else 0.0, time.perf_counter() - start)
    is_term = np.zeros(n, np.bool_)
    is_term[terms] = True
    su, sv, sw, orig = simplify(n, eu, ev, w)
    g0 = build_csr(n, su, sv, sw)
    su, sv, sw, orig_kept = _terminal_component(g0, su, sv, sw, orig, terms, has_fixed=len(fixed) > 0)
    warm, warm_nodes = None, None
    if len(init):
        warm, warm_nodes = _clean_warm_start(g0, orig, eu, ev, init, is_term, terms)
    red = reduce_graph(n, su, sv, sw, terms)
    if len(red.terminals) <= 1:
        simple_edges = expand(red, np.zeros(0, np.int64))
        lb_red, red_edges = 0.0, None
    else:
        warm_red = None if warm_nodes is None else warm_nodes[red.node_map]
        red_edges, lb_red = _solve_reduced(red, budget, quality=quality, seed=seed, bound=bound, warm=warm_red,
                                           quick=quick and bound, bound_roots=bound_roots, tighten=tighten)
        if not quick and not len(fixed) and len(red.terminals) <= _EXACT_MAX_TERMINALS and red.n <= _EXACT_MAX_NODES:
            red_edges = _exact_reduced(red)   # few terminals: Dreyfus-Wagner, the optimum
            lb_red = None
        simple_edges = expand(red, red_edges)
    edges = _with_fixed(n, eu, ev, fixed, np.sort(orig_kept[simple_edges]), is_term)
    cost = float(ew[edges].sum())
    if warm is not None:
        warm = _with_fixed(n, eu, ev, fixed, warm, is_term)
        warm_cost = float(ew[warm].sum())
        if warm_cost < cost:
            edges, cost = warm, warm_cost
    if not bound:
        lower = 0.0
    elif red_edges is None or lb_red is None:
        lower = cost  # the reductions (or the exact programme) solved the problem exactly
    else:
        red_fixed = float(sw[expand(red, np.zeros(0, np.int64))].sum())
        lower = min(cost, _safe_bound(fixed_w + red_fixed + lb_red, ew))
    secs = time.perf_counter() - start
    logger.debug("steiner: cost %.6g, lower bound %.6g, %.3f s", cost, lower, secs)
    return SteinerResult(edges=edges, cost=cost, lower_bound=lower, seconds=secs)


def _exact_reduced(red: Reduction) -> np.ndarray:
    """An optimal tree of the reduced graph (ids into its edge list) by Dreyfus-Wagner."""
    su, sv, sw, orig = simplify(red.n, red.eu, red.ev, red.ew)
    return orig[dreyfus_wagner(red.n, su, sv, sw, red.terminals)]


def _edge_ids(ids, m: int, name: str) -> np.ndarray:
    """Sorted unique int64 edge ids of an optional array; raise on bad ids."""
    if ids is None:
        return np.zeros(0, np.int64)
    a = np.asarray(ids).ravel()
    if len(a) == 0:
        return np.zeros(0, np.int64)
    if a.dtype.kind not in "iu":
        if a.dtype.kind == "f" and np.all(a == np.round(a)):
            a = a.astype(np.int64)
        else:
            raise InputDataError(f"{name} must be integer edge ids, got dtype {a.dtype}")
    a = np.unique(a.astype(np.int64))
    if a[0] < 0 or a[-1] >= m:
        raise InputDataError(f"{name}: edge id outside 0..{m - 1}")
    return a


def _with_fixed(n, eu, ev, fixed, tree_edges, is_term):
    """Sorted edge ids of ``tree_edges`` merged with the fixed edges (see :func:`merge_fixed`)."""
    if len(fixed) == 0:
        return np.asarray(tree_edges, np.int64)
    chosen = merge_fixed(n, eu, ev, fixed, np.asarray(tree_edges, np.int64), is_term)
    return np.nonzero(chosen)[0].astype(np.int64)


def _clean_warm_start(g0: CSRGraph, orig, eu, ev, init, is_term, terms):
    """Clean (and if needed repair) a warm start on the simple graph ``g0``.

    Returns
    -------
    edges : numpy.ndarray
        Sorted input edge ids of the cleaned warm-start tree.
    nodes : numpy.ndarray
        Bool mask of its nodes (terminals included).
    """
    mask = is_term.copy()
    mask[eu[init]] = True
    mask[ev[init]] = True
    order0 = np.lexsort((np.arange(g0.m), g0.ew)).astype(np.int64)
    tree = mst_prune(g0.n, g0.eu, g0.ev, order0, is_term, mask)
    if not spans_terminals(g0.n, g0.eu, g0.ev, is_term, tree):
        logger.debug("steiner: warm start does not connect the terminals; repaired by shortest paths")
        free = mask[g0.tail] & mask[g0.head]
        in_tree, _ = sph(g0.indptr, g0.head, np.where(free, 0.0, g0.arc_w), is_term, int(terms[0]), len(terms))
        tree = mst_prune(g0.n, g0.eu, g0.ev, order0, is_term, mask | in_tree)
    ids = np.nonzero(tree)[0]
    nodes = is_term.copy()
    nodes[g0.eu[ids]] = True
    nodes[g0.ev[ids]] = True
    return np.sort(orig[ids]), nodes


def _safe_bound(lb: float, weights: np.ndarray) -> float:
    """Guard a floating-point dual bound against rounding; round up for integer weights."""
    lb = lb - 1e-9 * max(1.0, abs(lb))
    if len(weights) and np.all(weights == np.round(weights)):
        lb = float(np.ceil(lb))
    return max(lb, 0.0)


def _terminal_component(g, su, sv, sw, orig, terms, *, has_fixed=False):
    """Keep only the edges of the terminals' component (``g`` is the CSR of the edge list); raise if split."""
    inside = reached(g.indptr, g.head, int(terms[0]))
    if not inside[terms].all():
        bad = int(terms[np.nonzero(~inside[terms])[0][0]])
        what = "terminals and fixed-edge ends" if has_fixed else "terminals"
        raise InfeasibleError(
            f"{what} are not all connected: terminal {bad} is not in the component of terminal {int(terms[0])}")
    if inside.all():
        return su, sv, sw, orig
    keep = inside[su]
    return su[keep], sv[keep], sw[keep], orig[keep]


def _solve_reduced(red: Reduction, budget: _Budget, *, quality: bool, seed: int, bound: bool = True,
                   warm: np.ndarray | None = None, quick: bool = False, bound_roots: int = 1, tighten: int = 0):
    """Heuristic + bound on the reduced graph; returns (reduced edge ids, lower bound). With
    ``bound``, ``tighten`` rounds of :func:`_tighten` raise the bound.

    ``warm`` is an optional node mask of a warm-start tree; its MST-prune
    gets local search too when it is cheaper than every own candidate (the
    own candidates that get local search are the same as without it). Without ``bound`` the dual
    ascent is skipped (bound 0) and SPH on the weights from its root replaces
    the SPH on the dual's reduced costs.
    """
    su, sv, sw, orig = simplify(red.n, red.eu, red.ev, red.ew)
    g = build_csr(red.n, su, sv, sw)
    is_term = np.zeros(red.n, np.bool_)
    is_term[red.terminals] = True
    order = np.lexsort((np.arange(len(sw)), sw)).astype(np.int64)
    rng = np.random.default_rng(seed)
    size = g.n + g.m
    da_root = int(red.terminals[np.argmax(np.diff(g.indptr)[red.terminals])])
    n_terms = len(red.terminals)
    cands = []
    if bound:
        lb, rc, da_root, ascents = _best_dual_ascent(g, is_term, red.terminals, da_root, bound_roots)
    else:
        lb, rc = 0.0, g.arc_w
    # candidate trees: SPH on the reduced costs of the dual, SPH from several roots
    mask, _ = sph(g.indptr, g.head, rc, is_term, da_root, n_terms)
    cands.append(mst_prune(g.n, g.eu, g.ev, order, is_term, mask))
    if quick:
        if tighten:
            lb = _tighten(red, _tree_cost(g, cands[0]), lb, ascents, rounds=tighten, n_roots=bound_roots,
                          budget=budget, seed=seed, searched=False)
        return orig[np.nonzero(cands[0])[0]], float(lb)
    n_roots = min(n_terms, max(2, int(_SPH_WORK // max(size, 1))), _MAX_ROOTS)
    roots = rng.choice(red.terminals, size=n_roots, replace=False)
    for r in roots:
        if budget.left() < 0:
            break
        mask, _ = sph(g.indptr, g.head, g.arc_w, is_term, int(r), n_terms)
        cands.append(mst_prune(g.n, g.eu, g.ev, order, is_term, mask))
    costs = np.array([_tree_cost(g, t) for t in cands])
    n_improve = 1 if size > _BIG else 2
    picks = list(np.argsort(costs, kind="stable")[:n_improve])
    if warm is not None:
        warm_tree = mst_prune(g.n, g.eu, g.ev, order, is_term, warm | is_term)
        if (spans_terminals(g.n, g.eu, g.ev, is_term, warm_tree)
                and _tree_cost(g, warm_tree) < costs.min()):
            cands.append(warm_tree)
            picks = [len(cands) - 1] + picks
    best, best_cost = None, np.inf
    for k in picks:
        if best is not None and budget.left() < 0:
            break
        tree = improve(g, is_term, order, cands[k], budget)
        c = _tree_cost(g, tree)
        if c < best_cost:
            best, best_cost = tree, c
    if quality:
        best, lb = _quality_search(g, is_term, red.terminals, order, best, float(lb), budget, rng)
    if bound and tighten:
        lb = _tighten(red, _tree_cost(g, best), lb, ascents, rounds=tighten, n_roots=bound_roots, budget=budget,
                      seed=seed, searched=True)
    return orig[np.nonzero(best)[0]], float(lb) if bound else 0.0


def _tighten(red: Reduction, ub: float, lb: float, ascents: list[tuple[int, float, np.ndarray]], *, rounds: int,
             n_roots: int, budget: _Budget, seed: int, searched: bool) -> float:
    """A lower bound on the optimum of the reduced problem ``red`` at least ``lb``: up to ``rounds``
    rounds of reduced-cost fixing (:mod:`.fixing`) against the best tree known (cost ``ub``,
    first the one the caller found), each on the graph the last one left, reduced again; a tree
    found on what is left, plus the edges the reductions contracted, is a tree of ``red``.
    ``ascents``: the dual ascents already run on ``red`` (root, bound, reduced arc costs);
    ``searched``: the caller's tree had the local search (else a new one is searched first)."""
    offset = 0.0   # weight of the edges contracted since red
    current = red
    for _ in range(rounds):
        if current is not red and budget.left() < 0:
            break   # the time limit ends the rounds (the first always runs)
        su, sv, sw, _ = simplify(current.n, current.eu, current.ev, current.ew)
        g = build_csr(current.n, su, sv, sw)
        is_term = np.zeros(current.n, np.bool_)
        is_term[current.terminals] = True
        if current is not red or not searched:
            edges, _ = _solve_reduced(current, budget, quality=False, seed=seed, bound=False)
            ub = min(ub, offset + float(current.ew[edges].sum()))
        if current is not red:
            first = int(current.terminals[np.argmax(np.diff(g.indptr)[current.terminals])])
            ascents = _best_dual_ascent(g, is_term, current.terminals, first, n_roots)[3]
        lb = max(lb, min(ub, offset + max(a[1] for a in ascents)))
        keep = edges_kept_by_all(g, is_term, ascents, ub - offset)
        if lb >= ub or keep.all() or not spans_terminals(g.n, g.eu, g.ev, is_term, keep):
            break   # solved, no progress, or (float rounding) the known tree itself was ruled out
        nxt = reduce_graph(current.n, su[keep], sv[keep], sw[keep], current.terminals)
        offset += float(sw[keep][expand(nxt, np.zeros(0, np.int64))].sum())
        if len(nxt.terminals) <= 1:
            return max(lb, min(ub, offset))   # the reductions solved what was left
        current = nxt
    return lb


def _best_dual_ascent(g: CSRGraph, is_term: np.ndarray, terms: np.ndarray, first: int,
                      n_roots: int) -> tuple[float, np.ndarray, int, list[tuple[int, float, np.ndarray]]]:
    """The best dual ascent from ``first`` and ``n_roots - 1`` other terminals spread evenly
    over ``terms`` (deterministic): its bound, reduced arc costs and root; and every ascent
    as (root, bound, reduced arc costs)."""
    work = _DA_WORK * (g.n + g.m) + 10**5
    ascents = []
    for r in ascent_roots(terms, first, n_roots):
        lb_r, rc_r, _ = dual_ascent(g.indptr, g.head, g.arc_w, g.rev, g.tail, is_term, r, work, _DA_SLACK)
        ascents.append((r, float(lb_r), rc_r))
    root, lb, rc = max(ascents, key=lambda a: a[1])   # the first of the best
    return lb, rc, root, ascents


def _quality_search(g, is_term, terms, order, best, lb, budget, rng):
    """Improve ``best`` until the budget ends: stronger bounds, perturbed restarts, recombination.

    Returns the best tree (edge mask) and the best lower bound.
    """
    size = g.n + g.m
    n_terms = len(terms)
    # stronger dual ascent from a few roots (any dual solution is a valid bound)
    for r in rng.choice(terms, size=min(3, n_terms), replace=False):
        if budget.left() < 0.5 * (budget.limit or 0):
            break
        lb_r, rc, _ = dual_ascent(g.indptr, g.head, g.arc_w, g.rev, g.tail, is_term, int(r),
                                  _DA_WORK_QUALITY * size + 10**5, 1.0 + 0.5 * rng.random())
        lb = max(lb, float(lb_r))
        mask, _ = sph(g.indptr, g.head, rc, is_term, int(r), n_terms)
        best = _keep_better(g, best, improve(g, is_term, order, mst_prune(g.n, g.eu, g.ev, order, is_term, mask), budget))
    pool = [best]
    it = 0
    while budget.left() > 0:
        it += 1
        if it % 3 == 0 and len(pool) >= 2:
            tree = _recombine(g, is_term, terms, pool, rng, budget)
        else:
            noise = 1.0 + _NOISE * rng.random(g.m)
            arc_w = g.arc_w * noise[g.arc_e]
            mask, _ = sph(g.indptr, g.head, arc_w, is_term, int(rng.choice(terms)), n_terms)
            tree = mst_prune(g.n, g.eu, g.ev, order, is_term, mask)
        tree = improve(g, is_term, order, tree, budget)
        cost = _tree_cost(g, tree)
        if all(abs(cost - _tree_cost(g, t)) > 1e-9 * cost for t in pool):
            pool.append(tree)
            pool.sort(key=lambda t: _tree_cost(g, t))
            del pool[_POOL:]
        if cost < _tree_cost(g, best):
            best = tree
            logger.debug("quality: iteration %d, cost %.6g", it, cost)
    return best, lb


def _keep_better(g, a, b):
    return b if _tree_cost(g, b) < _tree_cost(g, a) else a


def _recombine(g, is_term, terms, pool, rng, budget):
    """Solve the union of the best tree and a few pool trees; return a tree of ``g``."""
    k = min(len(pool) - 1, 1 + int(rng.integers(1, 4)))
    picks = [pool[0]] + [pool[i] for i in rng.choice(np.arange(1, len(pool)), size=k, replace=False)]
    union = np.logical_or.reduce(picks)
    ids = np.nonzero(union)[0]
    sub = build_csr(g.n, g.eu[ids], g.ev[ids], g.ew[ids])
    sub_order = np.lexsort((np.arange(len(ids)), sub.ew)).astype(np.int64)
    best, best_cost = None, np.inf
    for r in rng.choice(terms, size=min(len(terms), 6), replace=False):
        mask, _ = sph(sub.indptr, sub.head, sub.arc_w, is_term, int(r), len(terms))
        t = mst_prune(sub.n, sub.eu, sub.ev, sub_order, is_term, mask)
        t = improve(sub, is_term, sub_order, t, budget)
        c = _tree_cost(sub, t)
        if c < best_cost:
            best, best_cost = t, c
    tree = np.zeros(g.m, dtype=np.bool_)
    tree[ids[best]] = True
    return tree


_DA_WORK = 20      # dual-ascent steps per node+edge in default mode
_DA_SLACK = 2.0    # cut-size slack of the dual ascent
_DA_WORK_QUALITY = 300
_NOISE = 0.15      # relative weight noise of perturbed restarts (quality mode)
_POOL = 8          # elite trees kept for recombination
_SPH_WORK = 4e5    # node+edge visits spent on SPH roots in default mode
_MAX_ROOTS = 16
_EXACT_MAX_TERMINALS = 6   # Dreyfus-Wagner (3^t n) on reduced graphs with at most this many terminals
_EXACT_MAX_NODES = 5_000   # ... and nodes
_BIG = 20_000     # above this many nodes+edges only the best tree gets local search


def _tree_cost(g: CSRGraph, tree: np.ndarray) -> float:
    return float(g.ew[tree].sum())
