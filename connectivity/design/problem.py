"""The joint planning instance and its single pricing rule (plain arrays, picklable).

Every operator needs its own ducts connecting its sites (and hub); the trench along an
edge is dug, and paid, once for all operators using it. The cost of a plan is

* trench: per edge by occupancy mode (telecom only, power only, joint: power and
  telecom together pay the wider-trench surcharge), see :mod:`connectivity.costs`;
* ducts: per operator and edge (power and telecom never share a duct);
* manholes: per group at sites, junctions and every ``spacing_m`` along runs.

Two objectives: the **exact** cost counts manholes one by one (what the bill of
quantities prices, :func:`evaluate`); the **linear** cost spreads manholes evenly over the
metres of the group's network (``manhole / spacing_m`` per metre) and is what the Steiner
weights, the bounds and the MILP use (:meth:`DesignProblem.mode_cost`, the one place the
trench mode is priced). Sites are never charged to the linear cost (they are the same for
every plan). All money in THB before contingency unless a name says otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Iterable, Sequence

import numpy as np

from connectivity.design.manholes import count_manholes
from connectivity.errors import ConfigError, InputDataError
from connectivity.steiner.graph import component_labels

GROUPS = ("telecom", "power")


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
    duct_count
        ``(K, m)`` ducts of each operator along each edge where they vary (a duct bank
        sized per street, corridor mode), or None: ``ducts[k]`` everywhere. ``duct_cost``
        is priced from it.
    existing
        ``(K, m)`` bool: operator k's cables go into free ducts of an existing duct route
        along edge e (never more than are free, see :mod:`connectivity.corridors`): it
        lays no trench there (it does not count towards the trench's mode) and
        ``duct_cost`` holds the reuse or rent price; None: no existing ducts.
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
    duct_count: np.ndarray | None = None
    existing: np.ndarray | None = None

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

    def duct_counts(self) -> np.ndarray:
        """``(K, m)`` ducts of each operator along each edge (count)."""
        if self.duct_count is not None:
            return self.duct_count
        return np.repeat(np.asarray(self.ducts, dtype=np.int64)[:, None], self.n_edges, axis=1)

    def required_edges(self, k: int) -> np.ndarray:
        return self.required[k] if self.required else np.zeros(0, dtype=np.int64)

    def forced_nodes(self, k: int) -> set[int]:
        """End nodes of operator ``k``'s required edges."""
        r = self.required_edges(k)
        return set(self.u[r].tolist()) | set(self.v[r].tolist())

    def tree_terminals(self, k: int) -> np.ndarray:
        """Nodes operator ``k``'s ducts must join: its terminals and its required edges' ends."""
        return np.unique(np.concatenate([self.terminals[k], np.array(sorted(self.forced_nodes(k)), dtype=np.int64)]))

    @cached_property
    def node_component(self) -> np.ndarray:
        """Road network component (connected part of the edges) of every node."""
        return component_labels(self.n_nodes, self.u, self.v)

    def terminal_groups(self, k: int) -> list[np.ndarray]:
        """Operator ``k``'s nodes to join (:meth:`tree_terminals`) split by road component:
        one network per component holding two or more of them."""
        terms = self.tree_terminals(k)
        comp = self.node_component[terms]
        groups = [terms[comp == c] for c in np.unique(comp)]
        return [g for g in groups if len(g) >= 2]

    def stranded_terminals(self, k: int) -> np.ndarray:
        """Operator ``k``'s terminals alone in their road component while it has others
        elsewhere: no duct of it can reach them."""
        terms = self.tree_terminals(k)
        if len(terms) < 2:
            return np.zeros(0, dtype=np.int64)
        comp = self.node_component[terms]
        _, inverse, counts = np.unique(comp, return_inverse=True, return_counts=True)
        return terms[counts[inverse] == 1]

    def active(self, k: int) -> bool:
        """Whether operator ``k`` needs any duct (two or more nodes to join)."""
        return len(self.tree_terminals(k)) >= 2

    def active_operators(self, operators: Sequence[str] | None = None) -> list[int]:
        """Indices of ``operators`` (names; default: all), in index order, that need ducts
        (:meth:`active`)."""
        members = range(self.n_operators) if operators is None else sorted(self.index(o) for o in operators)
        return [k for k in members if self.active(k)]

    def mode_table(self) -> np.ndarray:
        """``(m, 3)`` linear cost (THB) of each edge in modes telecom, power, joint: trench
        plus the group's manholes spread per metre (``manhole / spacing_m``)."""
        return self._mode_table

    @cached_property
    def _mode_table(self) -> np.ndarray:
        mh = self.length_m / self.manhole_spacing_m
        t, p = self.manhole_cost
        return self.trench + np.column_stack([t * mh, p * mh, (t + p) * mh])

    def mode_cost(self, has_t: np.ndarray, has_p: np.ndarray) -> np.ndarray:
        """Linear trench + manhole cost per edge (THB) for presence masks of the groups
        (0 where neither group is present)."""
        table = self.mode_table()
        mode = np.where(has_t & has_p, 2, np.where(has_p, 1, 0))
        return np.where(has_t | has_p, table[np.arange(self.n_edges), mode], 0.0)

    def group_index(self, k: int) -> int:
        """0 for a telecom operator, 1 for a power operator."""
        return GROUPS.index(self.kinds[k])

    def cheapest_mode(self, k: int) -> np.ndarray:
        """Per edge, the least linear cost (THB) of a trench that can carry operator ``k``
        (its group's mode or the joint one), ducts excluded."""
        table = self.mode_table()
        out = np.minimum(table[:, self.group_index(k)], table[:, 2])
        return out if self.existing is None else np.where(self.existing[k], 0.0, out)


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
    if problem.existing is not None:  # cables in existing ducts dig no trench
        use = np.asarray(use, dtype=bool) & ~problem.existing
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
    trench = float(trench_cost(problem, has_t, has_p).sum())
    duct = float(problem.duct_cost[use].sum())
    counts = []
    for g, present in zip(GROUPS, (has_t, has_p)):
        if not present.any():
            counts.append(0)
            continue
        ks = [k for k in range(problem.n_operators) if problem.kinds[k] == g and use[k].any()]
        counts.append(count_manholes(problem.u, problem.v, problem.length_m, present,
                                     group_terminals(problem, g, ks), spacing_m=problem.manhole_spacing_m))
    manhole = counts[0] * problem.manhole_cost[0] + counts[1] * problem.manhole_cost[1]
    return JointPlan(use=use, cost=trench + duct + manhole, linear_cost=linear_cost(problem, use),
                     trench_cost=trench, duct_cost=duct, manhole_cost=manhole,
                     n_manholes=(counts[0], counts[1]))


def trench_cost(problem: DesignProblem, has_t: np.ndarray, has_p: np.ndarray) -> np.ndarray:
    """Trench cost per edge (THB, no manholes) for presence masks of the groups."""
    mode = np.where(has_t & has_p, 2, np.where(has_p, 1, 0))
    return np.where(has_t | has_p, problem.trench[np.arange(problem.n_edges), mode], 0.0)


def incremental_weights(problem: DesignProblem, use: np.ndarray, k: int) -> np.ndarray:
    """Cost operator ``k`` adds per edge given the other operators' ducts (THB)."""
    others = use.copy()
    others[k] = False
    has_t, has_p = group_presence(problem, others)
    before = problem.mode_cost(has_t, has_p)
    if problem.kinds[k] == "telecom":
        after = problem.mode_cost(np.ones_like(has_t), has_p)
    else:
        after = problem.mode_cost(has_t, np.ones_like(has_p))
    if problem.existing is not None:
        after = np.where(problem.existing[k], before, after)
    return np.maximum(after - before, 0.0) + problem.duct_cost[k]


def standalone_weights(problem: DesignProblem, k: int) -> np.ndarray:
    """Cost per edge (THB) of operator ``k`` trenching alone: its group's mode + its ducts."""
    trench = problem.mode_table()[:, problem.group_index(k)]
    if problem.existing is not None:
        trench = np.where(problem.existing[k], 0.0, trench)
    return trench + problem.duct_cost[k]


def duct_metres(problem: DesignProblem, plan: JointPlan) -> dict[str, float]:
    """Operator -> ducts x metres of its ducts in ``plan``."""
    counts = problem.duct_counts()
    return {op: float((counts[k, plan.use[k]] * problem.length_m[plan.use[k]]).sum())
            for k, op in enumerate(problem.operators)}

