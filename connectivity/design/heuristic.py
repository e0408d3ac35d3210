"""The joint plan heuristic: Steiner trees from :mod:`connectivity.steiner`, improved by
re-planning one operator (or a pair on a shared backbone) at a time.

Starts: every operator's stand-alone tree; sequential plans (each operator in turn on the
trenches already dug); shared backbones (one Steiner tree over all terminals, and one per
group, each operator keeping the sub-tree it needs); and any given plans. The best starts
are then improved in rounds: each operator's tree is re-solved under its incremental
weights (its ducts plus the trench and manholes it would add where others already dig),
warm-started from its current tree, and kept only when the total falls.

On large graphs the rounds run on a candidate subgraph, the union of the starts' edges
(every corridor any start found worth digging), so a round costs a few milliseconds
instead of a full-graph solve. All costs THB before contingency; all times seconds.
"""
from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass, field, replace
from typing import Sequence

import numpy as np

from connectivity import steiner
from connectivity.design.problem import (GROUPS, DesignProblem, JointPlan, evaluate, group_presence,
                                         incremental_weights, linear_cost, standalone_weights)
from connectivity.design.threads import thread_map
from connectivity.errors import InfeasibleError
from connectivity.steiner.trees import clean_tree, connects

logger = logging.getLogger(__name__)

_IMPROVE_STARTS = 2   # on large graphs improvement rounds run from this many of the best starts (all on small)
#: Seconds of one quality-mode solve when ``DesignOptions.quality`` polishes a plan (one per operator and plan).
QUALITY_SOLVE_S = 2.0


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
        Seconds for the whole design stage (None = no limit): once spent, running
        improvement rounds stop and the best plan so far is kept.
    quality
        Polish every plan at the end: each operator's tree re-solved once in the Steiner
        engine's quality mode (perturbed restarts, recombination) for up to
        :data:`QUALITY_SOLVE_S` seconds, kept when the plan gets cheaper (all other solves run
        in the default mode, so a plan is never costlier than without).
    seed
        Seed of the engine and of the random orders (deterministic).
    objective
        'exact' (manholes counted) or 'linear' (per-metre manholes) to pick the best plan.
    pair_moves
        In each round also re-plan every pair of operators on one shared backbone tree
        (others fixed); lets two operators move to a new shared corridor together.
    candidate_edges
        Graphs with more edges are improved on the candidate subgraph (union of the
        starts' edges) rather than on the whole graph, from the best two starts only and
        with one sequential order.
    """

    rounds: int = 4
    orders: int = 2
    time_limit: float | None = None
    quality: bool = False
    seed: int = 0
    objective: str = "exact"
    pair_moves: bool = True
    candidate_edges: int = 5_000


@dataclass
class Deadline:
    """Wall-clock budget shared by every call of one design stage (seconds)."""

    limit: float | None
    start: float = field(default_factory=time.perf_counter)

    def expired(self) -> bool:
        return self.limit is not None and time.perf_counter() - self.start > self.limit

    def left(self) -> float | None:
        """Seconds left (None: no limit; never below 0)."""
        return None if self.limit is None else max(0.0, self.limit - (time.perf_counter() - self.start))


# --------------------------------------------------------------------------- trees

def operator_tree(problem: DesignProblem, k: int, weights: np.ndarray, *, options: DesignOptions,
                  seed: int | None = None, initial: np.ndarray | None = None, certified: bool = False,
                  quality_s: float | None = None) -> np.ndarray:
    """Operator ``k``'s tree (edge ids) under ``weights`` (THB per edge), with its required
    edges, from the Steiner engine; never costlier than ``initial`` when that connects the
    operator's terminals (a warm start). ``certified`` runs the engine's dual ascent too: its
    reduced costs seed one more candidate tree (for stand-alone trees, solved once each).
    ``quality_s``: the engine's quality mode for that many seconds (split among the
    operator's road components) instead of its default mode.

    Raises
    ------
    InfeasibleError
        When the operator's terminals are not connected by the network.
    """
    forced = problem.required_edges(k)
    comp = problem.node_component
    groups = problem.terminal_groups(k)
    limit = None if quality_s is None else max(0.05, quality_s / max(1, len(groups)))
    trees = []
    for group in groups:   # one network per road component
        c = comp[group[0]]
        fixed = forced[comp[problem.u[forced]] == c]
        warm = None if initial is None or not len(initial) else initial[comp[problem.u[initial]] == c]
        try:
            res = steiner.solve(problem.n_nodes, problem.u, problem.v, weights, group, quality=limit is not None,
                                time_limit=limit, seed=options.seed if seed is None else seed, fixed_edges=fixed,
                                initial=warm if warm is not None and len(warm) else None, bound=certified)
        except InfeasibleError as exc:
            raise InfeasibleError(f"operator {problem.operators[k]}: its sites are not all connected "
                                  f"by the road network ({exc})") from None
        trees.append(res.edges)
    return np.unique(np.concatenate(trees)) if trees else np.zeros(0, dtype=np.int64)


def _backbone(problem: DesignProblem, groups: list[list[int]], opt: DesignOptions,
              base: np.ndarray | None = None, seed: int | None = None) -> np.ndarray:
    """One shared Steiner tree per list of operators; each operator keeps its sub-tree.

    Operators outside ``groups`` keep their ducts of ``base``; their trenches count as dug.
    One tree per road component holding two or more of the list's nodes.
    """
    use = (np.zeros((problem.n_operators, problem.n_edges), dtype=bool) if base is None
           else np.asarray(base, dtype=bool).copy())
    for ks in groups:
        use[ks] = False
    for ks in groups:
        groups = _merged_groups(problem, ks)
        if not groups:
            continue
        probe = np.zeros_like(use)
        probe[ks] = True
        has_t, has_p = group_presence(problem, probe)
        others_t, others_p = group_presence(problem, use)
        w = (problem.mode_cost(has_t | others_t, has_p | others_p) - problem.mode_cost(others_t, others_p)
             + problem.duct_cost[ks].sum(axis=0))
        w = np.maximum(w, 0.0)
        forced = np.unique(np.concatenate([problem.required_edges(k) for k in ks]))
        comp = problem.node_component
        tree = []
        for terms in groups:
            fixed = forced[comp[problem.u[forced]] == comp[terms[0]]]
            res = steiner.solve(problem.n_nodes, problem.u, problem.v, w, terms,
                                seed=opt.seed if seed is None else seed, fixed_edges=fixed, bound=False)
            tree.append(res.edges)
        tree = np.concatenate(tree)
        for k in ks:
            use[k, clean_tree(problem.u, problem.v, w, np.concatenate([tree, problem.required_edges(k)]),
                              problem.tree_terminals(k))] = True
            use[k, problem.required_edges(k)] = True  # the clean-up is a spanning tree: required cycles come back
    return use


def _merged_groups(problem: DesignProblem, ks: Sequence[int]) -> list[np.ndarray]:
    """The nodes several operators join, per road component (components with >= 2 nodes)."""
    terms = np.unique(np.concatenate([problem.tree_terminals(k) for k in ks]))
    comp = problem.node_component[terms]
    groups = [terms[comp == c] for c in np.unique(comp)]
    return [g for g in groups if len(g) >= 2]


def valid_plan(problem: DesignProblem, use: np.ndarray, act: Sequence[int]) -> bool:
    """Each active operator's edges join its nodes in every component and hold its required edges."""
    return all(_joins(problem, k, np.flatnonzero(use[k])) for k in act)


def _joins(problem: DesignProblem, k: int, tree: np.ndarray) -> bool:
    """Whether the edges ``tree`` join operator ``k``'s nodes in every component and hold its
    required edges."""
    if not np.isin(problem.required_edges(k), tree).all():
        return False
    return all(connects(problem.u, problem.v, tree, g) for g in problem.terminal_groups(k))


# --------------------------------------------------------------------------- starts

def _starts(problem: DesignProblem, act: list[int], opt: DesignOptions,
            alone: dict[int, np.ndarray] | None = None, *, hurry: bool = False) -> list[np.ndarray]:
    """Starting use matrices: stand-alone trees, sequential plans, shared backbones. ``hurry``
    (the design stage's time limit is spent): no sequential plans, the backbones only (one
    Steiner solve per group instead of one per operator and order; the group backbone was the
    best start on the 100k- and 300k-edge towns)."""
    K, m = problem.n_operators, problem.n_edges
    empty = np.zeros((K, m), dtype=bool)
    missing = [k for k in act if not (alone and k in alone)]
    trees = dict(alone or {})
    trees.update(zip(missing, thread_map(lambda k: operator_tree(problem, k, standalone_weights(problem, k),
                                                                  options=opt, certified=True), missing)))
    stand = empty.copy()
    for k in act:
        stand[k, trees[k]] = True
    if len(act) == 1:
        return [stand]
    cost = {k: float(standalone_weights(problem, k)[stand[k]].sum()) for k in act}
    base = sorted(act, key=lambda k: (-cost[k], k))
    orders = [base, base[::-1]]
    rng = np.random.default_rng(opt.seed)
    n_orders = max(1, opt.orders if m <= opt.candidate_edges else 1)
    while len(orders) < n_orders:
        orders.append([act[i] for i in rng.permutation(len(act))])
    unique = list(dict.fromkeys(tuple(o) for o in orders[:n_orders]))
    backbones = [[act], [[k for k in act if problem.kinds[k] == g] for g in GROUPS]]
    backbones = [[s for s in sets if s] for sets in backbones]
    if len(backbones[1]) == 1:
        backbones = backbones[:1]   # one group only: its backbone is the all-operator one
    jobs = ([] if hurry else [lambda o=o: _sequential(problem, o, opt) for o in unique])
    jobs += [lambda sets=sets: _backbone(problem, sets, opt) for sets in backbones]
    return [stand] + thread_map(lambda job: job(), jobs)


def _sequential(problem: DesignProblem, order: Sequence[int], opt: DesignOptions) -> np.ndarray:
    """Each operator of ``order`` in turn on the trenches its predecessors dug."""
    use = np.zeros((problem.n_operators, problem.n_edges), dtype=bool)
    for k in order:
        use[k, operator_tree(problem, k, incremental_weights(problem, use, k), options=opt)] = True
    return use


# --------------------------------------------------------------------------- improvement

def _improve(problem: DesignProblem, act: list[int], use: np.ndarray, opt: DesignOptions,
             deadline: Deadline) -> np.ndarray:
    """Rounds of single-operator (and pair) re-planning; a move is kept when the linear
    cost falls. ``deadline`` is checked before every move."""
    cur = linear_cost(problem, use)
    for r in range(max(1, opt.rounds)):
        if deadline.expired():
            break
        changed = False
        for k in (act if r % 2 == 0 else act[::-1]):
            if deadline.expired():   # a round at 300k edges takes seconds: stop between moves
                return use
            w = incremental_weights(problem, use, k)
            tree = operator_tree(problem, k, w, options=opt, seed=opt.seed + r + 1, initial=np.flatnonzero(use[k]))
            cand = use.copy()
            cand[k] = False
            cand[k, tree] = True
            val = linear_cost(problem, cand)
            if val < cur - 1e-7 * max(1.0, cur):
                use, cur, changed = cand, val, True
        if opt.pair_moves and len(act) > 2:
            for k1, k2 in itertools.combinations(act, 2):
                if deadline.expired():
                    break
                cand = _backbone(problem, [[k1, k2]], opt, base=use, seed=opt.seed + r + 1)
                val = linear_cost(problem, cand)
                if val < cur - 1e-7 * max(1.0, cur):
                    use, cur, changed = cand, val, True
        if not changed:
            break
    return use


def polish(problem: DesignProblem, act: Sequence[int], use: np.ndarray, opt: DesignOptions,
           deadline: Deadline) -> np.ndarray:
    """Each operator's tree of ``use`` re-solved once in the engine's quality mode (warm from its
    tree, under its incremental weights, up to :data:`QUALITY_SOLVE_S` seconds and the deadline),
    kept when the plan's score (``opt.objective``) falls."""
    best = _score(problem, use, opt.objective)
    for k in act:
        left = deadline.left()
        if left is not None and left <= 0:
            break
        seconds = QUALITY_SOLVE_S if left is None else min(QUALITY_SOLVE_S, left)
        tree = operator_tree(problem, k, incremental_weights(problem, use, k), options=opt,
                             initial=np.flatnonzero(use[k]), quality_s=seconds)
        cand = use.copy()
        cand[k] = False
        cand[k, tree] = True
        cand[k, problem.required_edges(k)] = True
        score = _score(problem, cand, opt.objective)
        if score < best - 1e-9 * max(1.0, best):
            use, best = cand, score
    return use


def _score(problem: DesignProblem, use: np.ndarray, objective: str) -> float:
    return evaluate(problem, use).cost if objective == "exact" else linear_cost(problem, use)


# --------------------------------------------------------------------------- candidate subgraph

@dataclass(frozen=True)
class Workspace:
    """A problem restricted to candidate edges, and the map back to the full problem.

    Attributes
    ----------
    problem
        The restricted problem (its own node and edge ids) or the full one.
    edges, nodes
        Full-problem edge and node id of each restricted edge and node (None: the full problem).
    """

    problem: DesignProblem
    edges: np.ndarray | None = None
    nodes: np.ndarray | None = None

    def to_local(self, use: np.ndarray) -> np.ndarray:
        return use if self.edges is None else use[:, self.edges]

    def to_full(self, use: np.ndarray, m: int) -> np.ndarray:
        if self.edges is None:
            return use
        out = np.zeros((use.shape[0], m), dtype=bool)
        out[:, self.edges] = use
        return out


def restrict(problem: DesignProblem, edges: np.ndarray) -> Workspace:
    """The problem on ``edges`` only (nodes relabelled to those the edges touch and the
    terminals); every operator's terminals and required edges must lie on them."""
    edges = np.unique(np.asarray(edges, dtype=np.int64))
    terms = np.concatenate([problem.terminals[k] for k in range(problem.n_operators)] + [np.zeros(0, np.int64)])
    nodes = np.unique(np.concatenate([problem.u[edges], problem.v[edges], terms]))
    local = lambda x: np.searchsorted(nodes, x)  # noqa: E731
    pos = {int(e): i for i, e in enumerate(edges)}
    req = (tuple(np.array([pos[int(e)] for e in r], dtype=np.int64) for r in problem.required)
           if problem.required else ())
    sub = replace(problem, n_nodes=len(nodes), u=local(problem.u[edges]), v=local(problem.v[edges]),
                  length_m=problem.length_m[edges], trench=problem.trench[edges],
                  duct_cost=problem.duct_cost[:, edges], terminals=tuple(local(t) for t in problem.terminals),
                  required=req, duct_count=None if problem.duct_count is None else problem.duct_count[:, edges],
                  existing=None if problem.existing is None else problem.existing[:, edges])
    sub.__dict__.pop("_mode_table", None)
    return Workspace(problem=sub, edges=edges, nodes=nodes)


def workspace(problem: DesignProblem, plans: Sequence[np.ndarray], opt: DesignOptions) -> Workspace:
    """The full problem when small, else the problem on the union of ``plans``' edges."""
    if problem.n_edges <= opt.candidate_edges:
        return Workspace(problem)
    used = np.zeros(problem.n_edges, dtype=bool)
    for use in plans:
        used |= use.any(axis=0)
    for r in problem.required:
        used[r] = True
    return restrict(problem, np.flatnonzero(used))


# --------------------------------------------------------------------------- joint plan

def plan_joint(problem: DesignProblem, *, operators: Sequence[str] | None = None,
               options: DesignOptions = DesignOptions(), initial: Sequence[np.ndarray] = (),
               alone: dict[int, np.ndarray] | None = None, deadline: Deadline | None = None) -> JointPlan:
    """Plan the ducts of ``operators`` (default: all) sharing trenches, heuristically.

    Parameters
    ----------
    problem
        The instance.
    operators
        Names of the coalition to plan; others get no ducts.
    options
        Effort and objective, see :class:`DesignOptions`.
    initial
        Extra starting use matrices ``(K, m)`` (rows outside the coalition are ignored;
        matrices that do not connect every member's terminals are skipped).
    alone
        Operator index -> its stand-alone tree (edge ids), when already known.
    deadline
        Shared budget of the design stage (default: ``options.time_limit`` from now).

    Returns
    -------
    JointPlan
        Never costlier (in the chosen objective) than the best valid start.

    Raises
    ------
    InfeasibleError
        When an operator's terminals are not connected by the network.
    """
    K, m = problem.n_operators, problem.n_edges
    act = problem.active_operators(operators)
    if not act:
        return evaluate(problem, np.zeros((K, m), dtype=bool))
    for k in act:
        stranded = problem.stranded_terminals(k)
        if len(stranded):
            raise InfeasibleError(f"operator {problem.operators[k]}: its sites are not all connected by the road "
                                  f"network (node {int(stranded[0])} shares no road component with its other sites)")
    deadline = deadline or Deadline(options.time_limit)
    t0 = time.perf_counter()
    alone = {k: tree for k, tree in (alone or {}).items() if _joins(problem, k, tree)}   # else solved again
    mask = np.zeros(K, dtype=bool)
    mask[act] = True
    starts = _starts(problem, act, options, alone, hurry=deadline.expired())
    for init in initial:
        init = np.asarray(init, dtype=bool) & mask[:, None]
        if valid_plan(problem, init, act):
            starts.append(init)
    starts = [s for i, s in enumerate(starts) if not any(np.array_equal(s, t) for t in starts[:i])]
    ws = workspace(problem, starts, options)
    local = [ws.to_local(s) for s in starts]
    ranked = sorted(range(len(local)), key=lambda i: (linear_cost(ws.problem, local[i]), i))
    best_use, best = None, float("inf")
    n_improve = len(ranked) if m <= options.candidate_edges else _IMPROVE_STARTS
    chosen = ranked[:n_improve] if len(act) > 1 else ranked[:1]
    improved = (thread_map(lambda i: _improve(ws.problem, act, local[i], options, deadline), chosen)
                if len(act) > 1 else [local[i] for i in chosen])
    for use in improved:
        full = ws.to_full(use, m)
        score = _score(problem, full, options.objective)
        if score < best - 1e-9:
            best_use, best = full, score
    if options.quality:
        best_use = polish(problem, act, best_use, options, deadline)
    plan = evaluate(problem, best_use)
    logger.debug("joint plan of %s: %.0f THB (%d starts, %d of %d edges searched, %.2f s)",
                ",".join(problem.operators[k] for k in act), plan.cost, len(starts), ws.problem.n_edges, m,
                time.perf_counter() - t0)
    return plan


def plan_alone(problem: DesignProblem, operator: str, *, options: DesignOptions = DesignOptions(),
               initial: np.ndarray | None = None) -> JointPlan:
    """The operator planned alone: its own tree, paying its own trench (THB, before contingency).

    ``initial`` (edge ids, e.g. its tree in the joint plan) is a warm start: the result is
    never costlier than it.
    """
    k = problem.index(operator)
    use = np.zeros((problem.n_operators, problem.n_edges), dtype=bool)
    if problem.active(k):
        use[k, operator_tree(problem, k, standalone_weights(problem, k), options=options, initial=initial)] = True
    return evaluate(problem, use)
