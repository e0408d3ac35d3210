"""Exact plans of small instances: a multi-commodity flow MILP solved with HiGHS."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from connectivity.design.problem import DesignProblem, linear_cost
from connectivity.errors import InfeasibleError


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
    mode_cost = problem.mode_table()
    commodities = []
    for k in act:
        for group in problem.terminal_groups(k):   # one network per road component
            terms = sorted(group.tolist())
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

