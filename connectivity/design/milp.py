"""Exact plans: a multi-commodity flow MILP for small instances (tens of edges), and branch and
cut on a directed-cut model (a few hundred edges), both solved with HiGHS; the directed-cut
model's LP relaxation is also a lower bound (:func:`connectivity.design.bounds.lp_bound`)."""
from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from connectivity.design.problem import GROUPS, DesignProblem, group_terminals, linear_cost
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
    act = problem.active_operators(operators)
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


@dataclass(frozen=True)
class CutMilpResult:
    """Result of :func:`solve_cut_milp`.

    Attributes
    ----------
    bound
        Lower bound (THB, before contingency) on the model's objective: its optimum when
        ``optimal``.
    use
        ``(K, m)`` bool: an optimal plan of the model when ``optimal``, else None.
    optimal
        An integer solution violating no cut was found and proven optimal in time.
    """

    bound: float
    use: np.ndarray | None
    optimal: bool


def one_network_each(problem: DesignProblem, act: Sequence[int]) -> bool:
    """Every operator of ``act`` builds one network (its terminals in one road component): the
    directed-cut model roots one tree per operator."""
    return all(len(problem.terminal_groups(k)) == 1 for k in act)


def solve_cut_milp(problem: DesignProblem, *, operators: Sequence[str] | None = None, objective: str = "linear",
                   time_limit: float = 60.0) -> CutMilpResult:
    """Branch and cut on :class:`DirectedCutModel`: the LP cut loop first, then integer solves,
    each adding the cuts its solution violates, until one violates none (optimal: its plan
    connects every operator's terminals, and no plan of the model costs less).

    ``objective='linear'``: the objective :func:`~connectivity.design.plan_joint` optimises
    (trench, ducts, manholes per metre), so its optimum is the best such plan. ``'exact'``: the
    model's bound on the exact cost (below every plan's exact cost by at most the rounding of
    its manhole runs). About 15-90 s for 3 operators on 450-570 road edges (synthetic towns of
    14-16 sites).

    Raises
    ------
    ValueError
        When an operator has terminals in several road components, or the problem has existing
        ducts (the model prices no reuse: bound its :func:`~connectivity.design.bounds.relaxed_for_bounds`).
    InfeasibleError
        When the model has no solution (a terminal no road reaches).
    """
    t0 = time.perf_counter()
    act = problem.active_operators(operators)
    if not act:
        return CutMilpResult(0.0, np.zeros((problem.n_operators, problem.n_edges), dtype=bool), True)
    if not one_network_each(problem, act):
        raise ValueError("solve_cut_milp roots one tree per operator: an operator has sites in several road components")
    if problem.existing is not None:
        raise ValueError("solve_cut_milp prices no existing ducts: give it relaxed_for_bounds(problem)")
    model = DirectedCutModel(problem, act, exact=objective == "exact")
    bound, integer = 0.0, False
    while True:
        left = time_limit - (time.perf_counter() - t0)
        if left <= 0:
            return CutMilpResult(bound, None, False)
        solved = model.run(left)
        if not solved:
            if model.infeasible():
                raise InfeasibleError("the directed-cut model has no solution (a terminal no road reaches)")
            return CutMilpResult(max(bound, model.mip_bound()) if integer else bound, None, False)
        x = model.solution()
        bound = max(bound, model.mip_bound() if integer else model.lp_value())
        if model.add_violated_cuts(x):
            continue
        if integer:
            return CutMilpResult(bound, model.use(x), True)
        model.make_integer()
        integer = True


@contextlib.contextmanager
def _silent_stdout():
    """Send what C code writes to the process's standard output to /dev/null meanwhile (nothing to
    do when it is closed: ``>&-`` leaves ``sys.stdout`` None and no descriptor 1)."""
    if sys.stdout is not None:
        sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


class DirectedCutModel:
    """The joint problem of the operators ``act`` as a directed-cut model in HiGHS (columns
    in [0, 1]; :meth:`make_integer` makes them binary), without its cuts: callers add the
    ones a solution violates (:meth:`add_violated_cuts`) and solve again.

    For each active operator ``k`` with root ``r_k`` (its first tree terminal),
    arcs ``z[k, a]`` in both directions of every edge (``x[k, e] = z[k, uv] + z[k, vu]``);
    trench modes ``y[e, mode]`` with ``sum_mode y <= 1`` and ``x[k, e] <= y[e, kind(k)] +
    y[e, joint]``; cuts ``z[k](delta_in(W)) >= 1`` for every node set ``W`` holding a tree
    terminal of ``k`` but not ``r_k`` (separated by max-flow on ``z``); in-degree ``<= 1``
    (``= 1`` at terminals, ``0`` at the root), ``z[k, vw] <= z[k](delta_in(v))`` and, at
    non-terminals, ``z[k](delta_in(v)) <= z[k](delta_out(v))``; required edges ``x = 1``.
    Linear objective: ``mode_table . y + duct . x``.

    Exact objective (manholes one by one). Claim: for every plan there is a *pruned* plan
    (every operator's edges form a tree whose leaves are its tree terminals) costing no
    more. Proof: drop a non-required edge closing a cycle of an operator, or ending in a
    leaf that is not one of its tree terminals; its ducts go, the trench mode of the edge
    can only fall (needs joint >= single >= 0, checked by :func:`certify`), and the
    group's chamber count does not grow when an edge leaves its network (a junction that
    becomes a through node loses its chamber and its two runs merge: ``ceil(a + b) <=
    ceil(a) + ceil(b)``; a split run keeps at most its chambers: ``ceil(a) + ceil(b) - 2
    <= ceil(a + b + l) - 1``; sites stay). In a pruned plan a group network with ``n``
    nodes, ``m`` edges and length ``L`` has no chamberless key node but the forced ends
    of required edges (``F``: degree-1 nodes are tree terminals, and a component that is
    a cycle of through nodes would hold a whole tree without terminals, at most one per
    such operator), so with ``R`` runs, ``S`` sites, ``J`` junctions and run lengths
    ``L_r``, counting each run's two ends at key nodes,

        chambers = S + J + sum_r (ceil(L_r / s) - 1)+ >= S + J + L / s - R
                 = L / s + n - m - F

    (non-key nodes have degree 2: ``1 - deg / 2 = 0``; key nodes with a chamber count
    ``1 - deg / 2`` each). So the integer model with trench + ducts + ``c_g (L_g / s + n_g
    - m_g - F_g)`` is below the exact cost of every pruned plan; its linear terms:
    ``mode_table`` (holds ``c_g l / s``) minus ``c_g`` per edge of the group network,
    plus ``c_g`` per node ``q[g, v] >= presence of g on every edge at v`` (``q = 1`` at
    the group's sites), presence ``y[e, g] + y[e, joint] <= sum_{k in g} x[k, e]``.

    ``exact``: the exact objective above, else the linear one. Every operator of ``act`` needs
    one network (one terminal group, :func:`one_network_each`).
    """

    def __init__(self, problem: DesignProblem, act: Sequence[int], *, exact: bool) -> None:
        import highspy
        from scipy.sparse import coo_matrix

        m, n = problem.n_edges, problem.n_nodes
        u, v = problem.u, problem.v
        table = problem.mode_table()
        cg = problem.manhole_cost
        gi = {k: problem.group_index(k) for k in act}
        groups = sorted({gi[k] for k in act})
        # columns: y (3m) | z per operator (2m each: arc 2e = u->v, 2e+1 = v->u) | q per group (n each)
        ny = 3 * m
        zoff = {k: ny + i * 2 * m for i, k in enumerate(act)}
        qoff = {g: ny + len(act) * 2 * m + i * n for i, g in enumerate(groups)} if exact else {}
        ncol = ny + len(act) * 2 * m + (len(groups) * n if exact else 0)
        cost = np.zeros(ncol)
        lo = np.zeros(ncol)
        hi = np.ones(ncol)
        ycost = table.copy()
        const = 0.0
        if exact:
            ycost[:, 0] -= cg[0]
            ycost[:, 1] -= cg[1]
            ycost[:, 2] -= cg[0] + cg[1]
        cost[:ny] = ycost.ravel()
        for g in (0, 1):   # a group without operators: its mode (and the joint one) is never needed
            if g not in groups:
                hi[g:ny:3] = 0.0
                hi[2:ny:3] = 0.0
        terms = {}
        for k in act:
            cost[zoff[k]:zoff[k] + 2 * m] = np.repeat(problem.duct_cost[k], 2)
            terms[k] = problem.tree_terminals(k)
        if exact:
            for g in groups:
                cost[qoff[g]:qoff[g] + n] = cg[g]
                ks = [k for k in act if gi[k] == g]
                sites = group_terminals(problem, GROUPS[g], ks)
                lo[qoff[g] + sites] = 1.0
                forced = set().union(*(problem.forced_nodes(k) for k in ks)) - set(sites.tolist())
                const -= cg[g] * (len(forced) + sum(1 for k in ks if len(problem.terminals[k]) == 0))
        rows_i: list[np.ndarray] = []
        rows_j: list[np.ndarray] = []
        rows_v: list[np.ndarray] = []
        rlo: list[np.ndarray] = []
        rhi: list[np.ndarray] = []
        nrow = 0

        def add(ri, cj, vals, lb, ub):
            """Rows given as COO with local row ids 0..len(lb)-1."""
            nonlocal nrow
            rows_i.append(np.asarray(ri, dtype=np.int64) + nrow)
            rows_j.append(np.asarray(cj, dtype=np.int64))
            rows_v.append(np.asarray(vals, dtype=float))
            rlo.append(np.asarray(lb, dtype=float))
            rhi.append(np.asarray(ub, dtype=float))
            nrow += len(lb)

        e = np.arange(m)
        inf = highspy.kHighsInf
        add(np.repeat(e, 3), np.arange(ny), np.ones(ny), np.full(m, -inf), np.ones(m))
        # arc heads/tails: arc 2e: u->v, 2e+1: v->u
        tail = np.empty(2 * m, dtype=np.int64)
        head = np.empty(2 * m, dtype=np.int64)
        tail[0::2], head[0::2] = u, v
        tail[1::2], head[1::2] = v, u
        arcs = np.arange(2 * m)
        for k in act:
            z0 = zoff[k]
            g = gi[k]
            # x[k,e] - y[e,g] - y[e,J] <= 0
            add(np.concatenate([e, e, e, e]), np.concatenate([z0 + 2 * e, z0 + 2 * e + 1, 3 * e + g, 3 * e + 2]),
                np.concatenate([np.ones(2 * m), -np.ones(2 * m)]), np.full(m, -inf), np.zeros(m))
            root = int(terms[k][0])
            is_term = np.zeros(n, dtype=bool)
            is_term[terms[k]] = True
            # in-degree: 0 at root, 1 at other terminals, <= 1 elsewhere
            ilo = np.where(is_term, 1.0, 0.0)
            ihi = np.ones(n)
            ilo[root] = ihi[root] = 0.0
            add(head, z0 + arcs, np.ones(2 * m), ilo, ihi)
            # z[vw] <= in(v) for v != root
            sel = tail != root
            a_sel = arcs[sel]
            ri = np.arange(len(a_sel))
            # in-arcs of tail(a): arcs b with head(b) == tail(a)
            order = np.argsort(head, kind="stable")
            starts = np.searchsorted(head[order], np.arange(n + 1))
            ri_l, cj_l, vv_l = [ri], [z0 + a_sel], [np.ones(len(a_sel))]
            for j, a in enumerate(a_sel.tolist()):
                ins = order[starts[tail[a]]:starts[tail[a] + 1]]
                ri_l.append(np.full(len(ins), j))
                cj_l.append(z0 + ins)
                vv_l.append(-np.ones(len(ins)))
            add(np.concatenate(ri_l), np.concatenate(cj_l), np.concatenate(vv_l), np.full(len(a_sel), -inf),
                np.zeros(len(a_sel)))
            # in(v) <= out(v) at non-terminals
            nt = np.flatnonzero(~is_term)
            pos = -np.ones(n, dtype=np.int64)
            pos[nt] = np.arange(len(nt))
            hsel = pos[head] >= 0
            tsel = pos[tail] >= 0
            add(np.concatenate([pos[head[hsel]], pos[tail[tsel]]]), np.concatenate([z0 + arcs[hsel], z0 + arcs[tsel]]),
                np.concatenate([np.ones(hsel.sum()), -np.ones(tsel.sum())]), np.full(len(nt), -inf), np.zeros(len(nt)))
            req = problem.required_edges(k)
            if len(req):
                add(np.repeat(np.arange(len(req)), 2), np.concatenate([[z0 + 2 * r, z0 + 2 * r + 1] for r in req.tolist()]),
                    np.ones(2 * len(req)), np.ones(len(req)), np.full(len(req), inf))
        if exact:
            for g in groups:
                ks = [k for k in act if gi[k] == g]
                for mode in (g, 2):
                    # y[e,mode] <= sum_{k in g} x[k,e]
                    cols = [3 * e + mode] + [zoff[k] + 2 * e for k in ks] + [zoff[k] + 2 * e + 1 for k in ks]
                    vals = [np.ones(m)] + [-np.ones(m)] * (2 * len(ks))
                    add(np.tile(e, 1 + 2 * len(ks)), np.concatenate(cols), np.concatenate(vals), np.full(m, -inf),
                        np.zeros(m))
                # q[g,end] >= y[e,g] + y[e,J] for both ends
                for ends in (u, v):
                    add(np.concatenate([e, e, e]), np.concatenate([qoff[g] + ends, 3 * e + g, 3 * e + 2]),
                        np.concatenate([np.ones(m), -np.ones(2 * m)]), np.zeros(m), np.full(m, inf))
        A = coo_matrix((np.concatenate(rows_v), (np.concatenate(rows_i), np.concatenate(rows_j))),
                       shape=(nrow, ncol)).tocsr()
        with _silent_stdout():   # HiGHS prints a banner on construction, whatever its options
            h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("random_seed", 0)
        h.setOptionValue("threads", 1)
        h.addCols(ncol, cost, lo, hi, 0, np.zeros(1, dtype=np.int32), np.zeros(0, dtype=np.int32), np.zeros(0))
        h.addRows(nrow, np.concatenate(rlo), np.concatenate(rhi), A.nnz, A.indptr.astype(np.int32),
                  A.indices.astype(np.int32), A.data)
        blo, bhi = np.concatenate(rlo), np.concatenate(rhi)

        self.h, self.A, self.blo, self.bhi = h, A, blo, bhi
        self.cost, self.lo, self.hi, self.const = cost, lo, hi, const
        self.problem, self.act, self.zoff, self.terms = problem, list(act), zoff, terms
        self.tail, self.head = tail, head
        self.seen: set[tuple[int, bytes]] = set()

    def run(self, time_limit: float | None = None) -> bool:
        """Solve the model as it stands (``time_limit`` seconds); whether to optimality."""
        import highspy

        if time_limit is not None:
            self.h.setOptionValue("time_limit", float(max(time_limit, 0.0)))
        self.h.run()
        return self.h.getModelStatus() == highspy.HighsModelStatus.kOptimal

    def infeasible(self) -> bool:
        """The last solve proved the model infeasible."""
        import highspy

        return self.h.getModelStatus() == highspy.HighsModelStatus.kInfeasible

    def solution(self) -> np.ndarray:
        """Column values of the last solve."""
        return np.asarray(self.h.getSolution().col_value)

    def lp_value(self) -> float:
        """The last LP's optimum as a bound (THB): weak duality with the solver's row duals
        (either sign convention), valid whatever the LP tolerances, equal to the optimum up to
        them."""
        y = np.asarray(self.h.getSolution().row_dual)
        args = (self.A, self.blo, self.bhi, self.cost, self.lo, self.hi)
        val = max(_dual_value(*args, y), _dual_value(*args, -y))
        return val + self.const - 1e-9 * abs(val)

    def mip_bound(self) -> float:
        """The last integer solve's dual bound (THB)."""
        return float(self.h.getInfo().mip_dual_bound) + self.const

    def make_integer(self) -> None:
        """Every column binary from now on (the cuts found so far stay); integer solves stop
        0.01 % from their dual bound."""
        n = len(self.cost)
        self.h.changeColsIntegrality(n, np.arange(n, dtype=np.int32), np.ones(n, dtype=np.uint8))
        self.h.setOptionValue("mip_rel_gap", 1e-4)

    def add_violated_cuts(self, x: np.ndarray) -> int:
        """Add the directed cuts that the solution ``x`` violates (max-flow separation per
        operator, each cut once); returns how many."""
        from scipy.sparse import csr_matrix, vstack

        m, n = self.problem.n_edges, self.problem.n_nodes
        cuts = []
        for k in self.act:
            zk = np.clip(x[self.zoff[k]:self.zoff[k] + 2 * m], 0.0, 1.0)
            for inside in _separate(zk, self.tail, self.head, n, int(self.terms[k][0]), self.terms[k]):
                key = (k, np.packbits(inside).tobytes())
                if key in self.seen:
                    continue
                self.seen.add(key)
                cuts.append(self.zoff[k] + np.flatnonzero(inside[self.head] & ~inside[self.tail]))
        if not cuts:
            return 0
        starts = np.zeros(len(cuts) + 1, dtype=np.int32)
        starts[1:] = np.cumsum([len(c) for c in cuts])
        idx = np.concatenate(cuts).astype(np.int32)
        self.h.addRows(len(cuts), np.ones(len(cuts)), np.full(len(cuts), np.inf), len(idx), starts[:-1], idx,
                       np.ones(len(idx)))
        rows = csr_matrix((np.ones(len(idx)), idx, starts), shape=(len(cuts), len(self.cost)))
        self.A = vstack([self.A, rows]).tocsr()
        self.blo = np.concatenate([self.blo, np.ones(len(cuts))])
        self.bhi = np.concatenate([self.bhi, np.full(len(cuts), np.inf)])
        return len(cuts)

    def use(self, x: np.ndarray) -> np.ndarray:
        """``(K, m)`` bool: each operator's edges in the integer solution ``x``."""
        m = self.problem.n_edges
        out = np.zeros((self.problem.n_operators, m), dtype=bool)
        for k in self.act:
            z = x[self.zoff[k]:self.zoff[k] + 2 * m]
            out[k] = z[0::2] + z[1::2] > 0.5
        return out


def _dual_value(A, rlo, rhi, c, lo, hi, y) -> float:
    """Lagrangian dual value of ``min c x : rlo <= A x <= rhi, lo <= x <= hi`` at row
    multipliers ``y`` (a valid lower bound on the LP optimum for every ``y``)."""
    yp = np.where(np.isfinite(rlo), np.maximum(y, 0.0), 0.0)
    ym = np.where(np.isfinite(rhi), np.maximum(-y, 0.0), 0.0)
    yy = yp - ym
    d = c - A.T @ yy
    rows = float(np.dot(yp, np.where(np.isfinite(rlo), rlo, 0.0)) - np.dot(ym, np.where(np.isfinite(rhi), rhi, 0.0)))
    return rows + float(np.minimum(d * lo, d * hi).sum())


def _separate(z: np.ndarray, tail: np.ndarray, head: np.ndarray, n: int, root: int, terminals: np.ndarray, *,
              nested: int = 8, scale: int = 1_000_000) -> list[np.ndarray]:
    """Node sets ``W`` (bool masks: terminal inside, root outside) whose in-arcs carry less
    than 1 of ``z``: per terminal, the min cut next to the root and the one next to the
    terminal (back cut) of a max flow, then up to ``nested`` more min cuts after raising
    the capacity of the arcs already cut to 1 (nested cuts)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import breadth_first_order, maximum_flow

    out = []
    loop = tail != head
    base = np.floor(z * scale).astype(np.int64)
    for t in terminals.tolist():
        if t == root:
            continue
        cap = base.copy()
        for _ in range(nested + 1):
            keep = loop & (cap > 0)
            G = csr_matrix((cap[keep].astype(np.int32), (tail[keep], head[keep])), shape=(n, n))
            G.sum_duplicates()
            res = maximum_flow(G, root, t, method="dinic")
            if res.flow_value >= scale * (1 - 1e-4):
                break
            resid = (G - res.flow).tocsr()
            resid.data = (resid.data > 0).astype(np.int8)
            resid.eliminate_zeros()
            src = np.zeros(n, dtype=bool)
            src[breadth_first_order(resid, root, directed=True, return_predecessors=False)] = True
            snk = np.zeros(n, dtype=bool)
            snk[breadth_first_order(resid.T.tocsr(), t, directed=True, return_predecessors=False)] = True
            crossing = snk[head] & ~snk[tail]
            if z[crossing].sum() >= 1 - 1e-6:
                break
            out.append(snk)
            cap[crossing] = scale
    return out


