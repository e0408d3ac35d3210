"""Lower bounds on the cost of any joint plan (THB, before contingency)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from connectivity import steiner
from connectivity.design.problem import GROUPS, DesignProblem, JointPlan, group_terminals


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
