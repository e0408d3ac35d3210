"""Lower bounds on the cost of any joint plan (THB, before contingency)."""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from connectivity import steiner
from connectivity.design.coalitions import CoalitionTable
from connectivity.design.heuristic import Deadline
from connectivity.design.manholes import count_manholes
from connectivity.design.milp import DirectedCutModel, one_network_each
from connectivity.design.problem import GROUPS, DesignProblem, JointPlan, group_terminals
from connectivity.design.threads import thread_map
from connectivity.steiner.bound import joint_dual_ascent
from connectivity.steiner.graph import CSRGraph, build_csr, component_labels

logger = logging.getLogger(__name__)


def steiner_lower_bound(problem: DesignProblem, k: int, weights: np.ndarray, *, time_limit: float | None = None,
                        seed: int = 0, roots: int = 1, tighten: int = 0) -> tuple[float, np.ndarray]:
    """The Steiner engine's lower bound on operator ``k``'s networks under ``weights`` (THB
    per edge), summed over its road components (:meth:`DesignProblem.terminal_groups`),
    required edges included as fixed; and the edges of the trees found. ``roots``: dual
    ascents per network, the best kept (``steiner.solve(bound_roots=...)``); ``tighten``:
    rounds of reduced-cost fixing (``steiner.solve(tighten=...)``)."""
    total, edges = 0.0, []
    forced = problem.required_edges(k)
    comp = problem.node_component
    for group in problem.terminal_groups(k):
        fixed = forced[comp[problem.u[forced]] == comp[group[0]]]
        res = steiner.solve(problem.n_nodes, problem.u, problem.v, weights, group, time_limit=time_limit,
                            seed=seed, fixed_edges=fixed, quick=True, bound_roots=roots, tighten=tighten)
        total += float(res.lower_bound)
        edges.append(res.edges)
    return total, (np.concatenate(edges) if edges else np.zeros(0, dtype=np.int64))


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
    act = problem.active_operators(operators)
    if not act:
        return 0.0

    def lb(w, k):
        return steiner_lower_bound(problem, k, w, time_limit=time_limit, seed=seed)[0]

    gi = {k: problem.group_index(k) for k in act}

    def cmin(k, with_manholes):
        if with_manholes:
            return problem.cheapest_mode(k)
        return np.minimum(problem.trench[:, gi[k]], problem.trench[:, 2])

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
            value, edges = steiner_lower_bound(problem, k, alpha[k] * c[k] + problem.duct_cost[k],
                                               time_limit=time_limit, seed=seed)
            total += value
            mask = np.zeros(problem.n_edges, dtype=bool)
            mask[edges] = True
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



# --------------------------------------------------------------------------- certified bound (LP relaxation)

@dataclass(frozen=True)
class Bound:
    """A certified lower bound on the cost of every joint plan.

    Attributes
    ----------
    value
        THB before contingency; no plan costs less (exact cost, manholes counted one by one).
    method
        How it was obtained (human-readable).
    seconds
        Wall time spent.
    linear
        A lower bound on the linear cost of every plan found on the way (THB before
        contingency; 0 when none): the chamber bound less the most its chamber terms add to a plan.
    """

    value: float
    method: str
    seconds: float
    linear: float = 0.0


#: Largest LP (active operators x directed arcs) certify() runs; above it only the Lagrangian bounds.
LP_MAX_ARC_VARIABLES = 2_000
#: Largest instance (edges) on which certify() also runs the per-metre Lagrangian.
EXACT_VARIANT_MAX_EDGES = 5_000
#: Largest instance (edges) on which certify() runs the other Lagrangians beside the chamber bound.
OTHER_BOUNDS_MAX_EDGES = 1_000


def default_iterations(problem: DesignProblem, n_operators: int) -> int:
    """Subgradient steps of a Lagrangian bound: about 0.6 M operator-edges of Steiner
    solves in all, at least 3 and at most 60 (deterministic, whatever the machine)."""
    return int(min(60, max(3, 600_000 // max(1, problem.n_edges * n_operators))))


#: Quality mode (``[options] quality = true``) gives the certified bound this many times its
#: default subgradient steps (:func:`certify_steps`). Certified gap_pct, default / 3x steps: a
#: 5k-edge town 12.29 / 11.42 % (0.85 / 1.63 s), a 20k-edge town 17.08 / 15.44 % (1.30 / 3.45 s);
#: Chiang Mai and Phuket's steps end before either budget (9.35 / 9.35 %, 2.86 / 2.84 %).
QUALITY_BOUND_EFFORT = 3


def certify_steps(problem: DesignProblem, operators: Sequence[str] | None = None, *, effort: int = 1) -> int:
    """The subgradient steps :func:`certify` takes by default, times ``effort``:
    :func:`default_iterations`, twice that where the chamber bound runs alone (beyond
    :data:`OTHER_BOUNDS_MAX_EDGES` edges, no existing ducts)."""
    act = problem.active_operators(operators)
    steps = default_iterations(problem, len(act))
    chambers = chambers_bound_applies(problem, act)
    if chambers and problem.n_edges > OTHER_BOUNDS_MAX_EDGES:   # the chamber bound runs alone: both budgets
        steps *= 2
    return steps * effort


def routing_bound(problem: DesignProblem, plan: JointPlan, *, iterations: int | None = None,
                  time_limit: float | None = None, certified: Bound | None = None) -> float:
    """Lower bound (THB, before contingency) on the **linear** cost of every plan: trench,
    ducts and manholes spread per metre, the objective the planner optimises. Beside
    :func:`certify` it tells how well the routes are optimised, apart from the discrete
    manhole count (sites, junctions, short runs) that no cheap bound captures.

    With ``certified`` (:func:`certify`'s result for the same plan) its ``linear`` bound is
    used too; above :data:`EXACT_VARIANT_MAX_EDGES` edges it alone, when it has one (no
    second Lagrangian run)."""
    act = [k for k in range(problem.n_operators) if problem.active(k)]
    if not act:
        return 0.0
    known = 0.0 if certified is None else certified.linear
    if known > 0 and problem.n_edges > EXACT_VARIANT_MAX_EDGES:
        return known
    iterations = default_iterations(problem, len(act)) if iterations is None else iterations
    return max(known, lagrangian_bound(problem, plan=plan, objective="linear", iterations=iterations,
                                       time_limit=time_limit, tighten=0))


def plan_bounds(problem: DesignProblem, plan: JointPlan, *, time_limit: float | None = None,
                iterations: int | None = None) -> tuple[Bound, float]:
    """:func:`certify` and :func:`routing_bound` of ``plan`` (THB, before contingency): the same
    values as ``certify`` then ``routing_bound(certified=...)``; where the routing bound runs a
    Lagrangian of its own (up to :data:`EXACT_VARIANT_MAX_EDGES` edges) the two run side by side
    on threads. ``iterations``: subgradient steps of each (None: by size)."""
    if problem.n_edges > EXACT_VARIANT_MAX_EDGES:
        cert = certify(problem, plan, time_limit=time_limit, iterations=iterations)
        return cert, routing_bound(problem, plan, time_limit=time_limit, certified=cert, iterations=iterations)
    cert, own = thread_map(lambda job: job(), [
        lambda: certify(problem, plan, time_limit=time_limit, iterations=iterations),
        lambda: routing_bound(problem, plan, time_limit=time_limit, iterations=iterations)])
    return cert, max(own, cert.linear)


#: How :func:`lagrangian_bound` gets its value, as ``lower_bound_method`` says it.
_STEPS = "subgradient, Steiner dual-ascent bound per operator, from several roots at the best multipliers"


def certify(problem: DesignProblem, plan: JointPlan | None = None, *, time_limit: float | None = None,
            operators: Sequence[str] | None = None, seed: int = 0, iterations: int | None = None,
            tighten: int | None = None) -> Bound:
    """Certified lower bound (THB, before contingency) on the exact cost of every plan.

    The best of these valid bounds (each is a lower bound on its own, see the functions):

    * ``lagrangian_bound(objective='chambers')`` where :func:`chambers_bound_applies` (no
      existing ducts): trench sharing relaxed as below, and each operator charged the
      chambers its own tree needs (``L / s + 1`` per network less one per end of its required
      edges that is no site, split among the group's operators); its first value is a joint
      dual ascent over all operators (the best bound on large instances), its steps start
      from the ascent's trench claims;
    * ``lagrangian_bound(objective='sites')`` (up to :data:`OTHER_BOUNDS_MAX_EDGES` edges, or
      :data:`EXACT_VARIANT_MAX_EDGES` where the chamber bound does not apply): trench + ducts +
      per group one chamber per site, the junctions every pruned plan needs and
      ``ceil(L / s) - 1`` chambers inside each road segment (chain through degree-2 nodes) of
      length ``L``; trench sharing by Lagrangian relaxation with subgradient steps, per
      operator the Steiner engine's dual-ascent bound;
    * ``lagrangian_bound(objective='exact')`` (same size limits): the same relaxation with
      manholes per metre and the ``nodes - edges`` count of :func:`lp_bound` (node
      multipliers from ``plan``);
    * on small instances (at most :data:`LP_MAX_ARC_VARIABLES` operator arcs) the LP
      relaxation of :func:`lp_bound` (directed cuts, HiGHS), when its cut loop finishes.

    ``iterations`` subgradient steps each (by default, fewer on large instances: about
    0.6 M operator-edges of Steiner solves in all, at least 3, at most 60; twice that when the
    chamber bound runs alone, after its joint dual ascent, see :func:`lagrangian_bound`; ``time_limit``
    stops them early, and then the result depends on timing, and ``method`` says so). ``method``
    names the bound that won; ``linear`` is the chamber bound less the most its chamber terms add (see
    :class:`Bound`). ``tighten``: rounds of reduced-cost fixing at the Lagrangians' best multipliers
    (None: by size, see :func:`lagrangian_bound`).
    """
    t0 = time.perf_counter()
    act = problem.active_operators(operators)
    if not act:
        return Bound(0.0, "no operator needs ducts", 0.0)
    part = None if time_limit is None else time_limit / 3
    chambers = chambers_bound_applies(problem, act)
    # the chamber bound, where it applies, is the strong one beyond small instances
    small = problem.n_edges <= (OTHER_BOUNDS_MAX_EDGES if chambers else EXACT_VARIANT_MAX_EDGES)
    if iterations is None:
        iterations = certify_steps(problem, operators)
    cands = []
    linear = 0.0
    steps = _STEPS + (" and reduced-cost fixing" if tighten_rounds(problem, tighten) else "")
    if chambers:
        val = lagrangian_bound(problem, operators=operators, plan=plan, objective="chambers", iterations=iterations,
                               time_limit=part, seed=seed, tighten=tighten)
        linear = max(0.0, val - _operator_chambers(problem, act)[2])
        cands.append((val, ("joint dual ascent over all operators, then Lagrangian relaxation of the shared trench "
                            f"({steps}), the better of both + chambers per metre of each operator's tree")))
    if small or not chambers:
        val = lagrangian_bound(problem, operators=operators, plan=plan, objective="sites", iterations=iterations,
                               time_limit=part, seed=seed, tighten=tighten)
        cands.append((val, (f"Lagrangian relaxation of the shared trench ({steps}) + manhole count bound (sites, "
                            "junctions, long road segments)")))
    if _trench_monotone(problem) and small:
        val = lagrangian_bound(problem, operators=operators, plan=plan, objective="exact", iterations=iterations,
                               time_limit=part, seed=seed, tighten=tighten)
        cands.append((val, (f"Lagrangian relaxation of the shared trench ({steps}) + manholes per metre and per "
                            "node")))
        if one_network_each(problem, act) and len(act) * 2 * problem.n_edges <= LP_MAX_ARC_VARIABLES:
            lp = lp_bound(problem, operators=operators, objective="exact", time_limit=part)
            if lp is not None and lp[1]:
                cands.append((lp[0], "LP relaxation (directed cuts, HiGHS) + manholes per metre and per node"))
    value, method = max(cands, key=lambda c: c[0])
    if time_limit is not None and time.perf_counter() - t0 >= time_limit:
        method += " (time limit reached: fewer subgradient steps)"
    return Bound(float(value), method, time.perf_counter() - t0, linear)


def _pruned_graph(problem: DesignProblem, act: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Edges a pruned plan can use (dead-end trees without a tree terminal removed) and the
    mask of break nodes (tree terminals, forced nodes)."""
    n, u, v = problem.n_nodes, problem.u, problem.v
    brk = np.zeros(n, dtype=bool)
    for k in act:
        brk[problem.tree_terminals(k)] = True
    alive = u != v
    while True:
        deg = np.bincount(np.concatenate([u[alive], v[alive]]), minlength=n)
        leaf = (deg == 1) & ~brk
        drop = alive & (leaf[u] | leaf[v])
        if not drop.any():
            return alive, brk
        alive &= ~drop


def _segment_chambers(problem: DesignProblem, act: list[int]) -> np.ndarray:
    """Per edge, its length share of the chambers inside its *segment*: a maximal chain of
    usable edges (:func:`_pruned_graph`) through nodes of usable degree 2 that are no tree
    terminal. A pruned plan uses a segment whole or not at all (else an operator tree had
    a leaf inside it), and inside one run, so a run holds at least the sum over its
    segments of ``(ceil(L / s) - 1)+`` chambers (``ceil(a) + ceil(b) - 1 <= ceil(a + b)``).
    """
    n, m, u, v = problem.n_nodes, problem.n_edges, problem.u, problem.v
    alive, brk = _pruned_graph(problem, act)
    deg = np.bincount(np.concatenate([u[alive], v[alive]]), minlength=n)
    through = (deg == 2) & ~brk
    # edges sharing a through node are in the same segment
    ids = np.flatnonzero(alive)
    pairs = []
    for ends in (u, v):
        x = ends[ids]
        sel = through[x]
        pairs.append(np.column_stack([x[sel], ids[sel]]))
    pairs = np.vstack(pairs)
    order = np.lexsort((pairs[:, 1], pairs[:, 0]))
    pairs = pairs[order]
    first = pairs[0::2, 1] if len(pairs) else np.zeros(0, dtype=np.int64)
    second = pairs[1::2, 1] if len(pairs) else np.zeros(0, dtype=np.int64)
    label = component_labels(m, first, second)  # edges joined through a through node: one segment
    seg_len = np.bincount(label, weights=np.where(alive, problem.length_m, 0.0), minlength=m)
    # a segment without a break node at either end is a closed loop no pruned plan uses
    has_end = np.zeros(m, dtype=bool)
    for ends in (u, v):
        has_end[label[alive & ~through[ends]]] = True
    s = problem.manhole_spacing_m
    chambers = np.where(has_end, np.maximum(np.ceil(seg_len / s - 1e-6) - 1.0, 0.0), 0.0)
    L = seg_len[label]
    return np.where(alive & (L > 0), chambers[label] * problem.length_m / np.where(L > 0, L, 1.0), 0.0)


def _junctions_needed(problem: DesignProblem, act: list[int], g: int) -> int:
    """Junction chambers every pruned plan (see :func:`lp_bound`) has in group ``g``.

    In a group network (``n`` nodes, ``m`` edges, ``c <= K_g`` components, one tree per
    operator) ``sum_v (deg v - 2) = 2 (m - n) >= -2 c``. Leaves give -1 each and every
    site of road degree 1 is a leaf; through nodes give 0; a site of road degree ``D``
    gives at most ``D - 2``; so the junctions (non-site nodes of degree >= 3, each giving
    at most its degree - 2) give at least ``S_1 - 2 K_g - sum_sites (D - 2)+``: there are
    at least as many as the fewest non-site nodes whose ``degree - 2`` reach that sum
    (degrees in the graph of :func:`_pruned_graph`, which holds every pruned plan).
    """
    ks = [k for k in act if problem.group_index(k) == g]
    if not ks:
        return 0
    sites = group_terminals(problem, GROUPS[g], ks)
    alive, _ = _pruned_graph(problem, act)   # pruned plans use only these edges
    deg = np.bincount(np.concatenate([problem.u[alive], problem.v[alive]]), minlength=problem.n_nodes)
    other = np.ones(problem.n_nodes, dtype=bool)
    other[sites] = False
    networks = sum(len(problem.terminal_groups(k)) for k in ks)   # trees: one per operator and component
    excess = int((deg[sites] == 1).sum()) - 2 * networks - int(np.maximum(deg[sites] - 2, 0).sum())
    room = np.sort(np.maximum(deg[other] - 2, 0))[::-1]   # what each candidate junction can add
    if excess <= 0 or not room.any():
        return 0
    # fewest nodes whose room reaches the excess (largest first)
    return int(min(np.searchsorted(np.cumsum(room), excess) + 1, int((room > 0).sum())))


def _trench_monotone(problem: DesignProblem) -> bool:
    t = problem.trench
    return bool(np.all(t[:, 2] >= np.maximum(t[:, 0], t[:, 1]) - 1e-9) and np.all(t >= 0))


def lp_bound(problem: DesignProblem, *, operators: Sequence[str] | None = None, objective: str = "exact",
             time_limit: float | None = None, max_rounds: int = 200) -> tuple[float, bool] | None:
    """LP relaxation of the directed-cut model of the joint problem
    (:class:`~connectivity.design.milp.DirectedCutModel`, HiGHS, cutting planes).

    Returns ``(bound, complete)``: ``bound`` is the optimum of the last LP solved to
    optimality (every LP of the loop is a relaxation of the integer model, so each optimum is
    a valid bound: on the exact cost for ``objective='exact'``, on the linear one for
    ``'linear'``); ``complete`` says no violated cut was left. ``None`` when no LP was solved
    in time, or the problem has existing ducts (the model prices no reuse; its
    :func:`relaxed_for_bounds` has none).
    """
    t0 = time.perf_counter()
    act = problem.active_operators(operators)
    if not act:
        return 0.0, True
    if problem.existing is not None:
        return None
    model = DirectedCutModel(problem, act, exact=objective == "exact")
    best: float | None = None
    for _ in range(max_rounds):
        left = None if time_limit is None else time_limit - (time.perf_counter() - t0)
        if left is not None and left <= 0:
            break
        if not model.run(left):
            break
        best = model.lp_value()
        if not model.add_violated_cuts(model.solution()):
            return max(best, 0.0), True
    return None if best is None else (max(best, 0.0), False)


def chambers_bound_applies(problem: DesignProblem, act: Sequence[int]) -> bool:
    """Whether :func:`lagrangian_bound` may use ``objective='chambers'``: no existing ducts (a
    group's network would lose the edges in them). Required edges are allowed: a leaf of a
    pruned tree that is no site is an end of them (:func:`_loose_ends`)."""
    return problem.existing is None


def _loose_ends(problem: DesignProblem, k: int) -> int:
    """How many leaves of a pruned tree of operator ``k`` can be no site of k (and so hold no
    chamber of its own): the ends of its required edges that are none of its sites and meet
    one required edge only (a pruned tree's other leaves are its sites)."""
    r = problem.required_edges(k)
    if not len(r):
        return 0
    ends = np.concatenate([problem.u[r], problem.v[r]])
    nodes, count = np.unique(ends, return_counts=True)
    return int(np.count_nonzero((count == 1) & ~np.isin(nodes, problem.terminals[k])))


def _required_cycles(problem: DesignProblem, k: int) -> int:
    """Independent cycles of operator ``k``'s required edges (edges - nodes + components): corridor
    streets round a block. Each lets a network of ``K`` key nodes have ``K`` runs instead of
    ``K - 1``, so one chamber fewer than ``L / s + 1`` (a ring of streets of length ``L`` through no
    site or junction has ``ceil(L / s)``); edges a plan adds to them close no cycle that saves one
    (a path added between two nodes of the network is a run of its own, at least one chamber)."""
    r = problem.required_edges(k)
    if not len(r):
        return 0
    nodes, inv = np.unique(np.concatenate([problem.u[r], problem.v[r]]), return_inverse=True)
    components = len(np.unique(component_labels(len(nodes), inv[:len(r)], inv[len(r):])))
    return len(np.unique(r)) - len(nodes) + components


def relaxed_for_bounds(problem: DesignProblem, operators: Sequence[str] | None = None) -> DesignProblem:
    """What the bounds (whose models know no existing ducts) see of the plans of ``operators``
    (default: all) when some of them may put their cables in existing ducts: each operator's
    duct price as it is (the reuse price where it is admitted), no manholes, and on each edge
    each trench mode (telecom, power, joint) at the cheapest trench it can stand for: a group
    with a member admitted to an existing duct there may dig nothing (its members there may
    all be in the duct), the other group still pays. Every plan costs no more in it than in
    ``problem``, so its bounds are valid (weaker) bounds of ``problem``. Without admitted
    members: ``problem`` as it is (no existing ducts that matter)."""
    from dataclasses import replace

    if problem.existing is None:
        return problem
    members = np.array(range(problem.n_operators) if operators is None else [problem.index(o) for o in operators],
                       dtype=np.int64)
    admitted = problem.existing[members]
    if not admitted.any():
        return replace(problem, existing=None)
    tel = np.array([problem.kinds[k] == "telecom" for k in members])
    may_t, may_p = (admitted[g].any(axis=0) if g.any() else np.zeros(problem.n_edges, dtype=bool)
                    for g in (tel, ~tel))   # where the group's presence may vanish
    t, p, j = problem.trench[:, 0], problem.trench[:, 1], problem.trench[:, 2]
    t2, p2 = np.where(may_t, 0.0, t), np.where(may_p, 0.0, p)
    j2 = np.where(may_t & may_p, 0.0, np.minimum.reduce([j, np.where(may_p, t, j), np.where(may_t, p, j)]))
    if np.all(j >= np.maximum(t, p)):   # a joint trench costs at least either: so does its relaxation
        j2 = np.maximum.reduce([j2, t2, p2])
    return replace(problem, trench=np.column_stack([t2, p2, j2]), manhole_cost=(0.0, 0.0), existing=None)


def best_bound(problem: DesignProblem, plan: JointPlan, *, operators: Sequence[str] | None = None,
               time_limit: float | None = None, iterations: int | None = None,
               routing: bool = False, tighten: int | None = None) -> tuple[Bound, float]:
    """The certified bound on every plan of ``operators`` (default: all; THB before contingency)
    and a bound on their linear cost (with ``routing`` and all operators: :func:`plan_bounds`'s
    routing bound; else the bound's ``linear``), whatever ``problem`` holds.

    With existing ducts the bounds are those of :func:`relaxed_for_bounds`. With required
    edges (corridor streets), a bound without manholes gains those every plan has on the
    streets (:func:`required_chambers`), and where nothing is relaxed the better of that and
    the bound of ``problem`` itself is taken (that one alone when the other cannot beat it:
    ``plan``'s trench and ducts plus those manholes are no more). ``time_limit`` (seconds) is
    shared by the bounds it runs; ``tighten`` as for :func:`certify`."""
    from dataclasses import replace

    t0 = time.perf_counter()

    def bounds(p: DesignProblem) -> tuple[Bound, float]:
        left = None if time_limit is None else max(0.0, time_limit - (time.perf_counter() - t0))   # one budget for all
        if routing and operators is None:
            return plan_bounds(p, plan, time_limit=left, iterations=iterations)
        b = certify(p, plan, operators=operators, time_limit=left, iterations=iterations, tighten=tighten)
        return b, b.linear

    members = range(problem.n_operators) if operators is None else [problem.index(o) for o in operators]
    relaxed = relaxed_for_bounds(problem, operators)
    unrelaxed = relaxed.trench is problem.trench   # no member admitted to an existing duct: nothing relaxed
    note = "" if unrelaxed else " (relaxed: existing ducts' edges without the admitted groups' trench, no manholes)"
    if not any(len(problem.required_edges(k)) for k in members):
        b, lin = bounds(relaxed)
        return replace(b, method=b.method + note), lin
    own = bounds(relaxed) if unrelaxed else None
    chambers, per_metre = required_chambers(problem, operators)
    if own is not None and own[0].value >= plan.trench_cost + plan.duct_cost + chambers:
        return own   # the bound without manholes is at most the plan's trench and ducts: it cannot do better
    b, lin = bounds(replace(relaxed, manhole_cost=(0.0, 0.0)))
    b = replace(b, value=b.value + chambers, linear=b.linear + per_metre,
                method=b.method + (note or " (without manholes)") + " + the manholes every plan has on the required streets")
    lin += per_metre
    if own is not None:
        b, lin = max(own[0], b, key=lambda x: x.value), max(own[1], lin)
    return b, lin


def required_chambers(problem: DesignProblem, operators: Sequence[str] | None = None) -> tuple[float, float]:
    """The manholes every plan of ``operators`` (default: all) has on its required edges (THB,
    before contingency): counted one by one, and per metre (the linear objective's).

    Per group, ``R`` is the edges some operator of the group must take in a new duct: its
    required edges less those where its cables go into an existing duct. Every plan's group
    network holds ``R`` and the terminals of ``R``'s operators, and :func:`count_manholes` of a
    network is never below that of a part of it: ``R``'s sites and junctions stay chambers, a
    run of ``R`` split by a new junction gains that junction (``ceil(a) + ceil(b) >= ceil(a +
    b)``), runs of ``R`` joined into one lose nothing (``sum (ceil(x_i) - 1) <= ceil(sum x_i) -
    1``). For bounds on a relaxation without manholes (:func:`relaxed_for_bounds`)."""
    members = range(problem.n_operators) if operators is None else [problem.index(o) for o in operators]
    exact = linear = 0.0
    for g, group in enumerate(GROUPS):
        ks = [k for k in members if problem.kinds[k] == group and len(problem.required_edges(k))]
        need = np.zeros(problem.n_edges, dtype=bool)
        for k in ks:
            r = problem.required_edges(k)
            need[r if problem.existing is None else r[~problem.existing[k, r]]] = True
        if not need.any():
            continue
        n = count_manholes(problem.u, problem.v, problem.length_m, need, group_terminals(problem, group, ks),
                           spacing_m=problem.manhole_spacing_m)
        exact += n * problem.manhole_cost[g]
        linear += problem.manhole_cost[g] * float(problem.length_m[need].sum()) / problem.manhole_spacing_m
    return exact, linear


def _operator_chambers(problem: DesignProblem, act: list[int]) -> tuple[dict[int, np.ndarray], float, float]:
    """Per operator, the chamber cost (THB per edge) and the constant of the per-tree chamber
    bound; and the most that the constant and the lead-in terms add to a plan (THB), so that
    the bound less it is a bound on the linear cost.

    A group's chambers sit at its sites and junctions and every ``s`` metres inside each run
    between them. A pruned tree of operator ``k`` (all leaves its sites) of length ``L`` has
    ``R = K - 1`` runs between its ``K`` key nodes, so at least ``K + sum_r (ceil(l_r / s) - 1)
    >= L / s + 1`` chambers; the group's network holds k's tree, and its extra key nodes only
    split k's runs (``ceil(a) + ceil(b) >= ceil(a + b)``), so the group has at least as many
    (cycles in the union of several operators' trees cost nothing here). Each of the group's
    ``n`` operators gets ``1 / n`` of this bound: ``manhole / (n s)`` per metre of its tree and
    ``manhole / n`` per network (terminal group). With required edges a leaf can be an end of
    them that is no site (a key node without a chamber): one chamber less per such end
    (:func:`_loose_ends`), and one less per cycle of them (:func:`_required_cycles`).

    Lead-ins add to it (:func:`_lead_in_terms`): a run of length ``l`` holds ``ceil(l / s)``
    pieces, so a lead-in that is a run of its own counts ``ceil(l / s) - l / s`` chambers more than
    its length. (In a network with ``K`` key nodes, ``R`` runs and ``F`` leaves without a chamber,
    ``chambers = K - F + sum_r (ceil(l_r / s) - 1) = 1 - F + sum_r ceil(l_r / s)`` per tree, so each
    run's rounding counts, whether or not its ends hold chambers.) And the group's network holds the
    other operators' lead-ins beside k's tree (:func:`_other_lead_ins`), each at least
    ``ceil(l / s)`` chambers more: k's ``1 / n`` share counts those too.
    """
    extra, const, most = {}, 0.0, 0.0
    graph = build_csr(problem.n_nodes, problem.u, problem.v, problem.length_m)
    leads = {k: _lead_ins(problem, k, graph) for k in act}
    for g, group in enumerate(GROUPS):
        ks = [k for k in act if problem.kinds[k] == group]
        for k in ks:
            c = problem.manhole_cost[g] / len(ks)
            loose = _loose_ends(problem, k)
            pair_cost, bonus, top = _lead_in_terms(problem, leads[k])
            others = _other_lead_ins(problem, k, [leads[j] for j in ks if j != k])
            extra[k] = c * (problem.length_m / problem.manhole_spacing_m + pair_cost)
            networks = len(problem.terminal_groups(k))
            const += c * (networks + bonus - loose - _required_cycles(problem, k) + others)
            most += c * (networks + top + others)
    return extra, const, most


@dataclass(frozen=True)
class _LeadIn:
    """The chain from a site ``t`` of road degree 1 through nodes of road degree 2 (none a site of
    its operator) to ``w``; ``after``: the road edges at ``w`` beyond the chain (none when ``w`` has
    road degree 1)."""

    t: int
    w: int
    length_m: float
    nodes: list[int]    # t and the chain's inner nodes (not w)
    edges: list[int]
    after: list[int]


def _lead_ins(problem: DesignProblem, k: int, graph: CSRGraph) -> list[tuple[_LeadIn, bool]]:
    """Operator ``k``'s lead-ins (its tree terminals of road degree 1, in terminal groups of two or
    more nodes: its sites and the ends of its required edges), each with whether its ``w`` is a
    site of k (in the site's terminal group; an end of a required edge that is no site has no
    chamber of its own, so the chain ends there but is no run of its own for that)."""
    u, v = problem.u, problem.v
    start, edge_of = graph.indptr, graph.arc_e   # the edges at node x: edge_of[start[x]:start[x + 1]]
    real = u != v                                 # self-loops never carry a tree

    def edges_at(x: int) -> list[int]:
        return [int(e) for e in edge_of[start[x]:start[x + 1]] if real[e]]

    own = np.zeros(problem.n_nodes, dtype=bool)
    site = np.zeros(problem.n_nodes, dtype=bool)
    site[problem.terminals[k]] = True
    out = []
    for group in problem.terminal_groups(k):
        own[:] = False
        own[group] = True
        for t in np.unique(group).tolist():
            at = edges_at(t)
            if len(at) != 1:
                continue
            e, x, length, nodes, edges = at[0], t, 0.0, [t], []
            for _ in range(problem.n_edges):  # walk the lead-in to w (a chain holds each edge once)
                length += problem.length_m[e]
                edges.append(e)
                x = int(v[e] if u[e] == x else u[e])
                nxt = [f for f in edges_at(x) if f != e]
                if own[x] or len(nxt) != 1:
                    break
                nodes.append(x)
                e = nxt[0]
            out.append((_LeadIn(t=t, w=x, length_m=float(length), nodes=nodes, edges=edges, after=nxt),
                        bool(own[x] and site[x])))
    return out


def _lead_in_terms(problem: DesignProblem, leads: list[tuple[_LeadIn, bool]]) -> tuple[np.ndarray, float, float]:
    """Chambers an operator ``k``'s tree needs for its lead-ins (``leads``: k's :func:`_lead_ins`)
    beyond their length, as per-edge terms and a constant.

    A *lead-in* is the chain from a tree terminal ``t`` of road degree 1 (a site, or an end of a
    required edge) through nodes of road degree 2 (none of them a tree terminal of k) to the first
    node ``w`` that is a tree terminal of k or has road degree 3 or more; it has length ``l`` and
    every tree of k holds it (``t`` is a leaf).
    When the lead-in is a run of its own it holds ``ceil(l / s)`` chambers, ``b = ceil(l / s) -
    l / s`` more than its length. That is always so when ``w`` is a site of k (the
    constant; counted once when ``w`` is a road-degree-1 site too). Otherwise (``w`` is no site,
    possibly an end of a required edge, which is a key node only as a junction) ``w`` has ``D >= 2``
    other road edges, of which the tree uses ``u_w >= 1``, and the lead-in is a run of its own
    exactly when ``u_w >= 2`` (``w`` is a junction); ``[u_w >= 2] >= (u_w - 1) / (D - 1)``, so the
    tree counts at least ``b / (D - 1)`` more per other edge at ``w`` it uses, less ``b / (D - 1)``
    (the constant). Returns the per-edge terms (chambers per edge used, shape ``(m,)``), the
    constant and the most both add to a tree (the sum of the ``b``; chambers).
    """
    s = problem.manhole_spacing_m
    per_edge = np.zeros(problem.n_edges)
    const = most = 0.0
    for lead, to_site in leads:
        b = math.ceil(lead.length_m / s - 1e-9) - lead.length_m / s
        if b <= 1e-9:
            continue
        if to_site:
            if lead.after or lead.w > lead.t:   # a road-degree-1 site at both ends: one run, counted once
                const += b
                most += b
        elif len(lead.after) >= 2:
            share = b / (len(lead.after) - 1)
            per_edge[lead.after] += share
            const -= share
            most += b
    return per_edge, const, most


def _other_lead_ins(problem: DesignProblem, k: int, others: Sequence[list[tuple[_LeadIn, bool]]]) -> float:
    """Chambers (a count) that the lead-ins of other operators of k's group (``others``: each
    one's :func:`_lead_ins`) add to any pruned tree of operator ``k``, in their group's network.

    The group's network holds k's tree ``T`` and each other operator's tree, so also the lead-ins
    of the others' sites (:func:`_lead_ins`) that ``T`` never enters: no node of the chain but
    ``w`` is a terminal of k, and no chain edge is a required edge of k (a pruned ``T`` has its
    leaves at k's terminals and the ends of its required edges). A network holding fewer edges
    or fewer sites has no more chambers (a run cut or shortened holds no more, ``ceil(a) +
    ceil(b) >= ceil(a + b)``), so the group has at least the chambers of ``T`` plus these chains.
    Adding one such chain of length ``l`` (a site ``t`` at its free end) to a network at ``w``
    adds at least ``ceil(l / s)``: ``t``'s chamber and ``ceil(l / s) - 1`` inside it, when ``w``
    is a key node already or off the network; when ``w`` was a pass-through node it becomes a
    junction and splits its run, ``ceil(a) + ceil(b) + 1 - ceil(a + b) >= 1`` more again. Each
    chain counts once (a site of several operators, or a road-degree-1 site at both ends); a chain
    ending at a road-degree-1 node that is no site of its operator is left out.
    """
    s = problem.manhole_spacing_m
    mine = np.zeros(problem.n_nodes, dtype=bool)
    mine[problem.tree_terminals(k)] = True
    required = set(problem.required_edges(k).tolist())
    seen: set[int] = set()
    total = 0
    for leads in others:
        for lead, to_site in leads:
            if not (to_site or lead.after) or mine[lead.nodes].any() or required.intersection(lead.edges):
                continue
            if seen.intersection(lead.edges):
                continue
            seen.update(lead.edges)
            total += math.ceil(lead.length_m / s - 1e-9)
    return float(total)


def _edge_mode_costs(problem: DesignProblem, act: list[int], objective: str,
                     plan: JointPlan | None = None) -> tuple[np.ndarray, float]:
    """Per edge and mode, the cost the Lagrangian charges for the trench (and manholes), and
    a constant (THB); see :func:`lagrangian_bound`."""
    if objective == "chambers":
        return problem.trench.astype(float), 0.0
    if objective == "sites":
        # chambers >= the group's sites + sum over its edges of (ceil(l / s) - 1)+
        const = sum(problem.manhole_cost[i] * len(group_terminals(problem, g, act)) for i, g in enumerate(GROUPS))
        inner = np.maximum(np.ceil(problem.length_m / problem.manhole_spacing_m - 1e-6) - 1.0, 0.0)
        if _trench_monotone(problem):
            const += sum(problem.manhole_cost[i] * _junctions_needed(problem, act, i) for i in range(2))
            # per segment (not max per edge: a segment's count already covers its edges')
            alive, _ = _pruned_graph(problem, act)
            inner = np.where(alive, _segment_chambers(problem, act), inner)
        t, p = problem.manhole_cost
        table = problem.trench.astype(float) + np.column_stack([t * inner, p * inner, (t + p) * inner])
        return table, float(const)
    table = problem.mode_table().copy()
    if objective != "exact":
        return table, 0.0
    n = problem.n_nodes
    u, v = problem.u, problem.v
    deg = np.bincount(np.concatenate([u, v]), minlength=n).astype(float)
    const = 0.0
    groups = sorted({problem.group_index(k) for k in act})
    for g in groups:
        ks = [k for k in act if problem.group_index(k) == g]
        sites = group_terminals(problem, GROUPS[g], ks)
        c = problem.manhole_cost[g]
        # node multipliers mu[v, e] (sum over e at v = c): spread over the plan's group
        # edges at v where the plan's group network touches v, else over all road edges
        on = np.zeros(problem.n_edges, dtype=bool)
        if plan is not None:
            on = plan.use[ks].any(axis=0)
        pdeg = np.bincount(np.concatenate([u[on], v[on]]), minlength=n).astype(float)
        touched = pdeg > 0
        site = np.zeros(n, dtype=bool)
        site[sites] = True

        shares = [np.where(site[x], 0.0, np.where(touched[x], on / np.maximum(pdeg[x], 1.0),
                                                   1.0 / np.maximum(deg[x], 1.0))) for x in (u, v)]
        credit = c * (shares[0] + shares[1] - 1.0)
        table[:, g] += credit
        table[:, 2] += credit
        forced = set().union(*(problem.forced_nodes(k) for k in ks)) - set(sites.tolist())
        const += c * (len(sites) - len(forced) - sum(1 for k in ks if len(problem.terminals[k]) == 0))
    return table, const


def _start_multipliers(act: list[int], gi: np.ndarray, Tpos: np.ndarray, plan: JointPlan | None) -> np.ndarray:
    """The Lagrangian's first multipliers (THB per edge, one row per operator of ``act``, groups
    ``gi``): each group's single-mode cost ``Tpos[:, g]`` split among its operators (the plan's
    users of the edge first), scaled so that both groups together fit in the joint mode."""
    m = len(Tpos)
    lam = np.zeros((len(act), m))
    for g in (0, 1):
        rows = np.flatnonzero(gi == g)
        if not len(rows):
            continue
        w = np.ones((len(rows), m))
        if plan is not None:
            users = plan.use[[act[i] for i in rows]].astype(float)
            w = np.where(users.sum(axis=0) > 0, users, w)
        lam[rows] = Tpos[:, g] * w / w.sum(axis=0)
    if (gi == 0).any() and (gi == 1).any():
        fit = np.minimum(1.0, Tpos[:, 2] / np.maximum(Tpos[:, 0] + Tpos[:, 1], 1e-12))
        lam *= fit
    return lam


#: Steps of the joint dual ascent per operator and node + edge of the road graph; it stops there
#: (its bound stays valid). Its last steps, each regrowing a cut that holds most of the graph, add
#: least: on synthetic towns 60 instead of 300 leave the bound 0.0 % lower at 20k edges, 0.1 % at
#: 100k (2.2 s instead of 7.2 s) and 0.15 % at 300k (8 s instead of about 70 s).
JOINT_ASCENT_WORK = 60
#: Cut-size slack of the joint dual ascent (see :func:`connectivity.steiner.bound.dual_ascent`).
#: 1.5 rather than 2 (``benchmarks/design_scale.py``, certified gap_pct): Chiang Mai 13.18 -> 11.99,
#: Phuket 3.60 -> 3.44, the 20k town 18.15 -> 17.88, the 100k town 18.98 -> 18.53, the corridor
#: example unchanged, Chiang Mai with ``underground_aerial`` 12.50 -> 13.06 (the ascent is path
#: dependent); 1.0, 1.1, 1.25 and 1.75 did worse on Chiang Mai, 1.1 and 1.25 on the 20k town. The
#: ascent takes 0.2 s instead of 0.1 s on the 20k town (its certificate 1.7 s instead of 1.6 s).
JOINT_ASCENT_SLACK = 1.5


def joint_ascent_applies(T: np.ndarray) -> bool:
    """Whether :func:`joint_ascent` gives a bound with mode costs ``T`` (THB per edge and mode): no
    negative mode cost (a trench that pays back)."""
    return bool((T >= 0).all())


def _required_paid(problem: DesignProblem, act: list[int], own: dict[int, np.ndarray],
                   T: np.ndarray) -> tuple[dict[int, np.ndarray], np.ndarray, float]:
    """The required edges paid up front: each operator's own cost on its required edges, and on
    each such edge the cheapest trench mode holding the groups that require it. Returns the
    operators' costs without them, the mode costs of what is left to pay (THB per edge: a mode
    lacking a group that requires the edge is impossible, ``inf``; the others less the cheapest)
    and the constant paid (THB)."""
    need = np.zeros((problem.n_edges, 2), dtype=bool)
    own = dict(own)
    paid = 0.0
    for k in act:
        r = problem.required_edges(k)
        if len(r):
            need[r, problem.group_index(k)] = True
            paid += float(own[k][r].sum())
            own[k] = own[k].copy()
            own[k][r] = 0.0
    if not need.any():
        return own, T, 0.0
    allowed = np.column_stack([~need[:, 1], ~need[:, 0], np.ones(len(need), dtype=bool)])   # modes 0, 1, joint
    forced = need.any(axis=1)
    base = np.where(forced, np.where(allowed, T, np.inf).min(axis=1), 0.0)
    left = np.where(allowed, T - base[:, None], np.inf)
    return own, left, paid + float(base.sum())


def joint_ascent(problem: DesignProblem, act: list[int], own: dict[int, np.ndarray],
                 T: np.ndarray) -> tuple[float, np.ndarray]:
    """Joint dual ascent over the operators ``act`` (:func:`connectivity.steiner.bound.joint_dual_ascent`):
    each operator pays ``own[k]`` per edge (THB) and the operators share each edge's trench, ``T``
    (THB per edge and mode: group 0, group 1, joint; all >= 0). Returns the bound (THB, a lower
    bound on ``sum_k own_k(tree_k) + sum_e T[e, mode(e)]`` over every set of networks, one per
    terminal group of each operator) and the operators' claims on the trench (THB per edge, one
    row per operator of ``act``): Lagrangian multipliers of the shared trench. Required edges
    are paid up front (:func:`_required_paid`); their ends are among the nodes each operator
    joins. It stops after :data:`JOINT_ASCENT_WORK` steps per operator and node + edge (no time
    limit: its work is linear in the graph)."""
    own, T, paid = _required_paid(problem, act, own, T)
    graph = build_csr(problem.n_nodes, problem.u, problem.v, problem.length_m)
    cost = np.ascontiguousarray(np.vstack([own[k][graph.arc_e] for k in act]), dtype=np.float64)
    group = np.array([problem.group_index(k) for k in act], dtype=np.int64)
    is_term = np.zeros((len(act), problem.n_nodes), dtype=bool)
    is_root = np.zeros_like(is_term)
    for i, k in enumerate(act):
        for nodes in problem.terminal_groups(k):
            is_term[i, nodes] = True
            is_root[i, nodes[0]] = True
    work = JOINT_ASCENT_WORK * len(act) * (problem.n_nodes + problem.n_edges) + 10**5
    lb, _rc, claims, _complete = joint_dual_ascent(
        graph.indptr, graph.head, graph.rev, graph.tail, graph.arc_e, cost, group,
        np.ascontiguousarray(T, dtype=np.float64), is_term, is_root, work, JOINT_ASCENT_SLACK)
    return float(lb.sum()) + paid, claims


def relaxed_costs(problem: DesignProblem, act: list[int], objective: str, plan: JointPlan | None = None
                  ) -> tuple[np.ndarray, dict[int, np.ndarray], float]:
    """The costs :func:`lagrangian_bound` (and its joint ascent) relaxes for ``objective``: per edge
    and mode the shared trench's cost ``T`` (THB), per operator of ``act`` what it pays alone per
    edge (its ducts; with ``'chambers'`` also its tree's chambers, :func:`_operator_chambers`), and
    the constant (THB)."""
    T, const = _edge_mode_costs(problem, act, objective, plan)
    own = {k: problem.duct_cost[k] for k in act}
    if objective == "chambers":
        extra, const, _ = _operator_chambers(problem, act)
        own = {k: own[k] + extra[k] for k in act}
    return T, own, const


#: Smallest step factor of :func:`lagrangian_bound`: the factor halves after 5 steps in a row
#: without a better bound, and below this the steps stop (after 35 such steps in all).
LAGRANGIAN_MIN_STEP = 1 / 64


#: Above this many edges :func:`lagrangian_bound` starts from the joint ascent's claims rather
#: than halfway to the even split. Certified gap_pct, halfway / claims: the 20k town 18.80 / 17.88
#: (18 steps), 18.09 / 16.41 (60), 15.75 / 15.73 (90); Chiang Mai (2,153 edges) 12.86 / 13.91 (60),
#: 11.99 / 13.44 (120); Phuket (875) 4.02 / 4.59 (60), 3.44 / 3.80 (120).
CLAIMS_START_ABOVE_EDGES = 5_000


#: Node + edge visits of the dual ascents per operator at the Lagrangian's best multipliers: one
#: more evaluation there with ascents from several roots (:func:`final_roots`).
FINAL_ROOTS_WORK = 100_000
#: Most roots of that evaluation.
FINAL_ROOTS_MAX = 16


#: Rounds of reduced-cost fixing (``steiner.solve(tighten=...)``) in that evaluation, for the joint
#: plan's certified bound. Chiang Mai's gap_pct: 10.16 without, 9.45 with 8 rounds, 9.35 with 16
#: (the best multipliers' three operator bounds were 0.4, 0.4 and 1.1 % below the operators' best
#: trees; after 16 rounds 0.4, 0 and 0.07 %), for about 0.07 s more of its bounds on 2 cores.
FINAL_TIGHTEN_ROUNDS = 16
#: Up to this many edges (by default). On synthetic towns the operators' dual ascents are too far
#: below their trees (4-6 %) to rule out edges: at 5k edges the fixing left the gap at 12.29 % and
#: took the bounds from 1.12 to 1.73 s, at 20k edges it left 17.08 % for 0.2 s more.
TIGHTEN_MAX_EDGES = 4_000
#: The stand-alone plans' bounds (:func:`plan_gaps`) get the same (Chiang Mai: PEA alone 6.43 ->
#: 5.51 %, TOT 2.68 -> 2.52 %, for 0.02 s of its design stage); the other coalitions' bounds get
#: these rounds: none. With 4 rounds Chiang Mai's CAT+PEA went from 11.02 to 10.44 %, but its design
#: stage took 0.1 s more (1.41-1.45 s against 1.30-1.33 s, six alternating in-process runs), and
#: its whole run has about 0.1 s of room under the 3 s target.
COALITION_TIGHTEN_ROUNDS = 0


def tighten_rounds(problem: DesignProblem, tighten: int | None = None) -> int:
    """Rounds of reduced-cost fixing at the Lagrangian's best multipliers: ``tighten``, or by
    default :data:`FINAL_TIGHTEN_ROUNDS` up to :data:`TIGHTEN_MAX_EDGES` edges and none above."""
    if tighten is not None:
        return tighten
    return FINAL_TIGHTEN_ROUNDS if problem.n_edges <= TIGHTEN_MAX_EDGES else 0


def final_roots(problem: DesignProblem) -> int:
    """Dual ascents per operator network when :func:`lagrangian_bound` evaluates its best
    multipliers once more: :data:`FINAL_ROOTS_WORK` over the road graph's nodes + edges, at
    least 1 and at most :data:`FINAL_ROOTS_MAX` (16 on Chiang Mai and Phuket, 2 on a 20k-edge
    town, 1 from about 100k edges; deterministic). Certified gap_pct, one root / these: Chiang
    Mai 11.99 / 11.53 (8 roots: 11.81, 25: 11.53), Phuket 3.44 / 3.36 (8 and 42: 3.36), the 20k
    town 17.88 / 17.58 (8 roots: the same, for 0.7 s more), for about 0.25 s more on the 20k
    town's whole run."""
    return int(min(FINAL_ROOTS_MAX, max(1, FINAL_ROOTS_WORK // max(1, problem.n_nodes + problem.n_edges))))


def lagrangian_bound(problem: DesignProblem, *, operators: Sequence[str] | None = None, plan: JointPlan | None = None,
                     objective: str = "exact", iterations: int = 60, time_limit: float | None = None,
                     seed: int = 0, threads: int | None = None, tighten: int | None = None) -> float:
    """Lagrangian bound (THB): the coupling ``x[k, e] <= y[e, kind(k)] + y[e, joint]`` of the
    model of :func:`lp_bound` dualised with multipliers ``lam[k, e] >= 0``:

        L(lam) = sum_k LB_k(duct_k + lam_k) + sum_e min(0, T_t - Lam_t, T_p - Lam_p, T_j - Lam_t - Lam_p) + C

    with ``Lam_g(e)`` the sum of ``lam`` over the group's operators, ``LB_k`` the Steiner
    engine's valid (dual-ascent) lower bound, and ``T`` the per-edge mode cost: the linear
    ``mode_table`` for ``objective='linear'``; for the exact objective the node terms of
    :func:`lp_bound` are dualised too (``q[g, v] >= presence`` with multipliers ``c_g /
    deg(v)`` on the road edges at each non-site node ``v``, so ``q`` drops out), which
    leaves ``T = mode_table - c_g (1 - 1/deg(u) - 1/deg(v))`` per group in the mode (site
    ends give no credit) and ``C = sum_g c_g (sites - F_g)`` (``F_g`` as in
    :func:`lp_bound`). Weak duality makes every ``L(lam)`` a valid bound; ``lam`` starts
    from each group's mode cost split among its operators (among the plan's users of an
    edge when ``plan`` is given), and moves by projected subgradient steps (Polyak step
    towards the plan's cost, or 1.05 x the best bound; the step factor halves after 5 steps
    without a better value, and the steps stop below :data:`LAGRANGIAN_MIN_STEP`). The best
    multipliers are then evaluated once more with each operator's dual ascent run from
    :func:`final_roots` terminals, the best kept (the steps themselves use one root: from more
    roots at every step they ended lower on Chiang Mai, 11.72 % gap instead of 11.52 %, and cost
    3x the time), and ``tighten`` rounds of reduced-cost fixing on each operator's problem (None:
    :data:`FINAL_TIGHTEN_ROUNDS` up to :data:`TIGHTEN_MAX_EDGES` edges, else none;
    ``steiner.solve(tighten=...)``). Returns the best value seen.

    Where :func:`joint_ascent_applies` (no negative mode cost, which the node credits of
    ``'exact'`` usually make), the joint dual ascent (:func:`joint_ascent`) comes first, whole
    whatever ``time_limit`` (its work is linear in the graph: about 0.3 s at 20k edges, 2 s at
    100k, 8 s at 300k; cut by a design stage's spent time limit, it left a 100k-edge town a 227
    % gap instead of 18.5 %): its bound is the first value seen, and ``lam`` starts halfway
    between its claims on the trench and the split above, or at the claims themselves above
    :data:`CLAIMS_START_ABOVE_EDGES` edges (with one operator nothing is shared, and ``lam`` stays
    at its whole trench, the best multipliers). On synthetic towns (20k to 100k edges) the ascent
    alone is the stronger bound (about 18 % gap instead of 24 to 28 %), and steps from the
    halfway start climb back above it only slowly; on Chiang Mai and Phuket the steps from the
    halfway start end higher than from either end.

    The operators' Steiner solves of one step run on ``threads`` threads (default
    :func:`~connectivity.design.threads.solve_threads`; the result does not depend on it).

    ``objective='chambers'`` (only where :func:`chambers_bound_applies`): ``T`` is the trench
    alone and the chambers are charged to the operators' own trees instead
    (:func:`_operator_chambers`), a bound on the exact cost about as strong as the linear one.
    """
    t0 = time.perf_counter()
    m = problem.n_edges
    act = problem.active_operators(operators)
    if not act:
        return 0.0
    T, own, const = relaxed_costs(problem, act, objective, plan)
    gi = np.array([problem.group_index(k) for k in act])
    Tpos = np.maximum(T, 0.0)
    lam = _start_multipliers(act, gi, Tpos, plan)
    ascent = -np.inf
    if joint_ascent_applies(T):
        value, claims = joint_ascent(problem, act, own, T)   # whole: the time limit cuts the steps only
        ascent = value + const
        if len(act) > 1:   # one operator: nothing to share, its whole trench (the start) is the best lam
            lam = claims if problem.n_edges > CLAIMS_START_ABOVE_EDGES else 0.5 * (lam + claims)
    # Polyak target: the plan's cost in the relaxed objective (the chamber bound's optimum
    # lies near the linear cost: it cannot see the discrete chambers)
    target = None if plan is None else float(plan.cost if objective == "exact" else plan.linear_cost)
    each = None if time_limit is None else max(1.0, time_limit / 10)

    def value_at(lam: np.ndarray, roots: int = 1, tighten: int = 0) -> tuple[float, np.ndarray, np.ndarray]:
        """L(lam) (THB), the operators' trees (one row per operator, 1 on their edges) and
        each edge's cheapest mode under ``lam`` (0 none, 1 group 0, 2 group 1, 3 joint)."""
        solved = thread_map(lambda i: steiner_lower_bound(problem, act[i], own[act[i]] + lam[i], seed=seed,
                                                          time_limit=each, roots=roots, tighten=tighten),
                            range(len(act)), threads)
        total = const
        xs = np.zeros((len(act), m))
        for i, (k, (value, edges)) in enumerate(zip(act, solved)):
            total += value
            xs[i, edges] = 1.0
            xs[i, problem.required_edges(k)] = 1.0
        lt = lam[gi == 0].sum(axis=0)
        lp_ = lam[gi == 1].sum(axis=0)
        opts = np.column_stack([np.zeros(m), T[:, 0] - lt, T[:, 1] - lp_, T[:, 2] - lt - lp_])
        if not (gi == 0).any():
            opts[:, 1] = opts[:, 3] = np.inf
        if not (gi == 1).any():
            opts[:, 2] = opts[:, 3] = np.inf
        choice = np.argmin(opts, axis=1)
        return total + float(opts[np.arange(m), choice].sum()), xs, choice

    best = -np.inf   # the best L(lam), which also steers the step size
    best_lam = None
    theta = 1.0
    stall = 0
    for it in range(max(1, iterations)):
        if time_limit is not None and (it > 0 or np.isfinite(ascent)) and time.perf_counter() - t0 > time_limit:
            break
        total, xs, choice = value_at(lam)
        if total > best + 1e-9 * abs(best if np.isfinite(best) else 0.0):
            best, stall, best_lam = total, 0, lam
        else:
            stall += 1
            if stall >= 5:
                theta, stall = theta / 2, 0
                if theta < LAGRANGIAN_MIN_STEP:
                    break
        has = {0: np.isin(choice, (1, 3)), 1: np.isin(choice, (2, 3))}
        grad = xs - np.array([has[g] for g in gi], dtype=float)
        norm = float((grad ** 2).sum())
        if norm == 0:
            break
        goal = target if target is not None and target > best else 1.05 * best + 1.0
        step = theta * (goal - total) / norm
        lam = np.maximum(0.0, lam + step * grad)
    roots = final_roots(problem)
    tighten = tighten_rounds(problem, tighten)
    if best_lam is not None and (roots > 1 or tighten) and (time_limit is None or time.perf_counter() - t0 <= time_limit):
        best = max(best, value_at(best_lam, roots, tighten)[0])
    return max(float(best), ascent, 0.0)


def gap_pct(cost: float, bound: float) -> float:
    """``100 (cost / bound - 1)`` to 3 decimals (0 without a bound); a bound equal to the cost
    but for the last bits gives 0.0, not -0.0."""
    if bound <= 0:
        return 0.0
    return round(100.0 * (cost / bound - 1.0), 3) + 0.0   # + 0.0 turns -0.0 into 0.0


#: Largest instance (edges) on which every coalition's plan gets its own bound (stand-alone and joint plans always do).
COALITION_GAPS_MAX_EDGES = 20_000
_COALITION_ITERATIONS = 15   # subgradient steps of a coalition's bound (the joint plan's gets more)


def plan_gaps(problem: DesignProblem, table: CoalitionTable, *, joint: Bound | None = None,
              time_limit: float | None = None) -> dict[str, dict]:
    """Each plan behind the dig-once figures beside its own certified bound (THB incl. contingency).

    Returns ``{"joint": row, "stand_alone": {op: row}, "coalitions": {"A+B": row}}`` with rows
    ``{"cost", "lower_bound", "gap_pct"}``, so a reader sees whether the savings rest on plans
    solved equally well. A stand-alone plan has no shared trench to relax: one Steiner bound
    per network (one iteration). Coalitions between one operator and all of them only up to
    :data:`COALITION_GAPS_MAX_EDGES` edges. Each bound is :func:`best_bound` of its members;
    ``joint``: the joint plan's when known (taken as it is). ``time_limit`` (seconds) is shared
    by all of them; once spent, each bound is its joint dual ascent alone (see
    :func:`lagrangian_bound`). The stand-alone bounds, one thread each, run side by side
    (:func:`~connectivity.design.threads.thread_map`; the result does not depend on it).
    """
    left = Deadline(time_limit).left
    grand = table.plans.get(frozenset(table.players))
    if grand is not None and joint is None:
        joint = best_bound(problem, grand, time_limit=left())[0]
    return _gap_rows(problem, table, joint, _part_bounds(problem, table, left))


def bounds_and_gaps(problem: DesignProblem, table: CoalitionTable, *, time_limit: float | None = None,
                    iterations: int | None = None) -> tuple[Bound, float, dict[str, dict]]:
    """The joint plan's bounds, ``best_bound(..., routing=True)`` (THB before contingency), and
    :func:`plan_gaps` with them, the same values; the joint plan's bounds and the other plans'
    run side by side on threads (:func:`~connectivity.design.threads.thread_map`: the joint
    dual ascent holds one core for seconds on large inputs). ``time_limit`` (seconds) is shared
    by both; ``iterations`` as for :func:`best_bound`."""
    left = Deadline(time_limit).left
    grand = table.plans[frozenset(table.players)]
    (cert, routing), parts = thread_map(lambda job: job(), [
        lambda: best_bound(problem, grand, time_limit=left(), iterations=iterations, routing=True),
        lambda: _part_bounds(problem, table, left)])
    return cert, routing, _gap_rows(problem, table, cert, parts)


def _part_bounds(problem: DesignProblem, table: CoalitionTable,
                 left: Callable[[], float | None]) -> dict[frozenset, float]:
    """The certified bound (THB before contingency) of each stand-alone plan and, up to
    :data:`COALITION_GAPS_MAX_EDGES` edges, of each coalition's but the grand one (see
    :func:`plan_gaps`); ``left()``: seconds left of their shared budget."""
    grand = frozenset(table.players)
    tighten = COALITION_TIGHTEN_ROUNDS if problem.n_edges <= TIGHTEN_MAX_EDGES else 0
    ordered = sorted(table.plans.items(), key=lambda kv: (len(kv[0]), sorted(kv[0])))
    alone = [(s, plan) for s, plan in ordered if len(s) == 1 and s != grand]
    # one operator's bound runs on one thread: the stand-alone bounds side by side
    values = thread_map(lambda job: best_bound(problem, job[1], operators=sorted(job[0]), iterations=1,
                                               time_limit=left())[0].value, alone)   # fixing as the joint's
    out = {s: v for (s, _), v in zip(alone, values)}
    if problem.n_edges <= COALITION_GAPS_MAX_EDGES:
        for s, plan in ordered:
            if s != grand and len(s) > 1:
                out[s] = best_bound(problem, plan, operators=sorted(s), time_limit=left(),
                                    iterations=_COALITION_ITERATIONS, tighten=tighten)[0].value
    return out


def _gap_rows(problem: DesignProblem, table: CoalitionTable, joint: Bound | None,
              bounds: dict[frozenset, float]) -> dict[str, dict]:
    """:func:`plan_gaps`'s rows from the joint plan's bound and the others' (:func:`_part_bounds`,
    whose order the rows keep)."""
    f = problem.contingency_factor

    def row(plan: JointPlan, bound: float, name: str) -> dict:
        cost, lb = plan.cost * f, bound * f
        if lb > cost * (1 + 1e-6):   # a plan below a valid bound: one of the two is wrong
            logger.warning("the %s plan costs %.0f THB, below its certified lower bound of %.0f THB: a bug, "
                           "please report it with the scenario", name, cost, lb)
        return {"cost": round(cost, 2), "lower_bound": round(lb, 2), "gap_pct": gap_pct(cost, lb)}

    grand = frozenset(table.players)
    out: dict[str, dict] = {"stand_alone": {}, "coalitions": {}}
    if grand in table.plans and joint is not None:
        out["joint"] = row(table.plans[grand], joint.value, "joint")
    for s, bound in bounds.items():   # in _part_bounds' order: by size, then names
        name = "+".join(sorted(s))
        part = out["stand_alone"] if len(s) == 1 else out["coalitions"]
        part[name] = row(table.plans[s], bound, name)
    return out
